/**
 * Composition root: wires sources → reconciler (resources → IR) → data planes (compile → swap)
 * → admin. No logic of its own beyond the wiring and the shutdown order.
 * (Traefik cmd/traefik + pkg/server/server.go.)
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import { buildDiag } from './admin/diag/diag.js';
import { type AdminServer, type Readiness, startAdminServer } from './admin/server.js';
import type { ServeSettings } from './bootstrap/settings.js';
import { type DataPlaneHost, LocalDataPlane } from './control/data-plane-host.js';
import { createKubernetesRuntime, type KubernetesRuntime } from './control/kubernetes.js';
import { Reconciler } from './control/reconciler.js';
import { WorkerDataPlanes } from './control/workers.js';
import { GatewayError } from './errors/gateway-error.js';
import { buildIr } from './ir/build.js';
import { registerControlMetrics, registerDataPlaneMetrics } from './observability/metrics.js';
import { legateVersion } from './observability/version.js';
import { buildResourceSet } from './resources/build.js';
import type { SourceSnapshot } from './resources/types.js';
import { attachFieldLines, snapshotTexts } from './sources/file/field-lines.js';
import { FileSource } from './sources/file/file-source.js';
import type { Source } from './sources/source.js';

export interface Gateway {
  readonly reconciler: Reconciler;
  readonly host: DataPlaneHost;
  readonly admin: AdminServer;
  readonly logger: Logger;
  /** The Kubernetes source, leader elector and status writer, when `--kubernetes` is on. */
  readonly kubernetes: KubernetesRuntime | null;
  /** Where the proxy listens, once the first configuration is live. */
  proxyAddress(): AddressInfo | null;
  readiness(): Readiness;
  close(): Promise<void>;
}

export function buildIrFromSources(
  sets: readonly SourceSnapshot[],
  settings: Pick<ServeSettings, 'ambassadorId' | 'namespace'>,
) {
  const resources = buildResourceSet(sets, { ambassadorId: settings.ambassadorId });
  const ir = buildIr(resources, { ambassadorId: settings.ambassadorId, namespace: settings.namespace });
  // Sources parse without per-field lines; add them for the objects with problems only.
  const statuses = attachFieldLines(ir.statuses, snapshotTexts(sets));
  if (statuses === ir.statuses) return ir;
  // The lines show on /diag, so they are part of the result: a change that only moves a field
  // (same objects, same IR otherwise) must not be skipped by the reconciler as "same IR".
  const h = createHash('sha256').update(ir.hash);
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i]!;
    if (s !== ir.statuses[i]) h.update(JSON.stringify([i, s.location.fieldLines]));
  }
  return { ...ir, statuses, hash: h.digest('hex') };
}

export interface RunOptions {
  readonly logger?: Logger;
  /** Called once when the gateway cannot serve at all (its listener cannot be opened). */
  readonly onFatal?: (err: GatewayError) => void;
}

export async function runGateway(settings: ServeSettings, opts: RunOptions = {}): Promise<Gateway> {
  const logger = opts.logger ?? pino({ level: settings.logLevel, base: { pid: process.pid } });
  const bootTime = new Date();
  const sources: Source[] = settings.configDir ? [new FileSource({ dir: settings.configDir })] : [];
  const kube = settings.kubernetes ? createKubernetesRuntime(settings.kubernetes, logger) : null;
  if (kube) sources.push(kube.source);
  const host: DataPlaneHost =
    settings.workers > 1
      ? new WorkerDataPlanes({
          workers: settings.workers,
          listen: settings.listen,
          onEvent: (event, detail) => logger.warn(detail, event),
        })
      : new LocalDataPlane({ listen: settings.listen });

  const reconciler = new Reconciler({
    requiredSources: sources.map((s) => s.name),
    build: (sets) => {
      const ir = buildIrFromSources(sets, settings);
      kube?.built(sets, ir);
      return ir;
    },
    apply: (ir) => host.apply(ir),
    holdoffMs: settings.holdoffMs,
    maxDelayMs: settings.maxDelayMs,
    onSettled: (o) => {
      kube?.settled(o);
      if (o.kind === 'applied') {
        const rejected = o.ir.statuses.filter((s) => s.state === 'Rejected').length;
        logger.info(
          {
            hash: o.ir.hash.slice(0, 12),
            routes: o.ir.routes.length,
            rejected,
            buildMs: round(o.buildMs),
            applyMs: round(o.applyMs),
          },
          'configuration applied',
        );
        for (const s of o.ir.statuses) {
          for (const c of s.conditions) {
            if (c.critical) logger.warn({ resource: s.key, field: c.field, reason: c.reason }, c.message);
          }
        }
      } else if (o.kind === 'failed') {
        if (o.error instanceof GatewayError && o.error.code === 'GW_ERR_LISTEN') {
          logger.fatal({ code: o.error.code }, o.error.message);
          opts.onFatal?.(o.error);
        } else {
          logger.error({ err: o.error }, 'configuration not applied; the previous one stays live');
        }
      }
    },
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'legate_control_' });
  registerControlMetrics(registry, () => ({ ir: reconciler.lastIr, reconcile: reconciler.stats }));
  // In-process data plane: its counters join this registry. Workers expose theirs to the aggregator.
  const aggregator = host instanceof LocalDataPlane ? null : new AggregatorRegistry();
  if (host instanceof LocalDataPlane) {
    registerDataPlaneMetrics(registry, () => host.plane?.stats.snapshot() ?? null);
  }
  const metrics = async () => {
    const own = await registry.metrics();
    if (!aggregator) return { contentType: registry.contentType, body: own };
    const workers = await aggregator.clusterMetrics();
    return { contentType: registry.contentType, body: `${own}\n${workers}` };
  };

  const readiness = (): Readiness => {
    if (!reconciler.synced) return { ready: false, reason: 'waiting for the initial read of every source' };
    if (!reconciler.lastIr) {
      return {
        ready: false,
        reason: reconciler.lastError
          ? `configuration failed: ${String(reconciler.lastError)}`
          : 'no configuration applied yet',
      };
    }
    const st = host.status();
    if (st.serving < st.expected)
      return {
        ready: false,
        reason: `${st.serving}/${st.expected} data planes serve a configuration`,
      };
    return { ready: true, reason: '' };
  };

  let closing = false;
  const admin = await startAdminServer({
    listen: settings.admin,
    state: {
      readiness,
      alive: () => !closing,
      diag: () => {
        const r = readiness();
        const st = host.status();
        return buildDiag({
          ir: reconciler.lastIr,
          ambassadorId: settings.ambassadorId,
          bootTime,
          ready: r.ready,
          readyReason: r.reason,
          lastError: reconciler.lastError ? String(reconciler.lastError) : null,
          dataPlanes: { expected: st.expected, current: st.current, serving: st.serving, hash: st.hash },
          reconcile: reconciler.stats,
          version: legateVersion(),
        });
      },
      metrics,
    },
  });

  const abort = new AbortController();
  for (const source of sources) {
    source
      .start(abort.signal, (set) => reconciler.publish(set))
      .catch((err: unknown) => {
        logger.error({ err, source: source.name }, 'source failed');
      });
  }
  kube?.start(abort.signal);

  return {
    reconciler,
    host,
    admin,
    logger,
    kubernetes: kube,
    proxyAddress: () => host.status().address,
    readiness,
    async close() {
      if (closing) return;
      closing = true;
      abort.abort();
      reconciler.stop();
      await Promise.all([host.close(settings.drainMs), kube?.close()]);
      await admin.close();
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
