/**
 * The Kubernetes pieces the composition root wires when `--kubernetes` is on: the source, the
 * Lease-based leader elector and the status writer, built from `KubernetesSettings`.
 *
 * The root calls `built(sets, ir)` from the reconciler's build step and `settled(outcome)` from its
 * onSettled hook; statuses are written for the latest build whose IR is live (applied, or skipped
 * because the IR was identical: a generation bump that changes nothing still gets its
 * observedGeneration written). Nothing is written for a build that failed to apply.
 */
import type { Logger } from 'pino';
import type { KubernetesSettings } from '../bootstrap/settings.js';
import type { Ir } from '../ir/types.js';
import type { SourceSnapshot } from '../resources/types.js';
import { KubeConfigClient } from '../sources/kubernetes/client.js';
import { loadKubeConfig } from '../sources/kubernetes/config.js';
import { KubernetesSource } from '../sources/kubernetes/kubernetes-source.js';
import { LeaderElector } from './leader.js';
import type { ReconcileOutcome } from './reconciler.js';
import { StatusWriter } from './status-writer.js';

export interface KubernetesRuntime {
  readonly source: KubernetesSource;
  readonly leader: LeaderElector | null;
  readonly writer: StatusWriter | null;
  built(sets: readonly SourceSnapshot[], ir: Ir): void;
  settled(outcome: ReconcileOutcome): void;
  /** Starts the leader election (the source is started with the other sources). */
  start(signal: AbortSignal): void;
  /** Waits for the lease release and pending status writes, then closes connections. */
  close(): Promise<void>;
}

export function createKubernetesRuntime(settings: KubernetesSettings, logger: Logger): KubernetesRuntime {
  const client = new KubeConfigClient(loadKubeConfig(settings.kubeconfig));
  const log = logger.child({ component: 'kubernetes' });
  const source = new KubernetesSource({
    client,
    namespaces: settings.namespaces,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  });
  let writer: StatusWriter | null = null;
  let leader: LeaderElector | null = null;
  if (settings.updateStatus) {
    leader = new LeaderElector({
      client,
      namespace: settings.leaseNamespace,
      name: settings.leaseName,
      ...(settings.identity ? { identity: settings.identity } : {}),
      onChange: (isLeader) => {
        if (isLeader) writer?.resync();
      },
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
    });
    const elector = leader;
    writer = new StatusWriter({
      client,
      source: source.name,
      lookup: (kind, ns, name) => source.get(kind, ns, name),
      isLeader: () => elector.isLeader,
      publishAddress: settings.publishAddress,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
    });
  }
  let last: { sets: readonly SourceSnapshot[]; ir: Ir } | null = null;
  let running: Promise<void> | null = null;
  return {
    source,
    leader,
    writer,
    built(sets, ir) {
      last = { sets, ir };
    },
    settled(outcome) {
      if (!writer || !last) return;
      if (outcome.kind === 'applied' || (outcome.kind === 'skipped' && outcome.reason === 'same-ir')) {
        writer.update(last.ir.statuses, last.sets);
      }
    },
    start(signal) {
      if (leader) running = leader.run(signal);
    },
    async close() {
      await running;
      await writer?.flush();
      await client.close();
    },
  };
}
