/**
 * Writes what the IR build concluded about each Kubernetes object back into its `status`, through
 * the `/status` subresource. Fed by the composition root after every reconcile (applied, or skipped
 * because the IR was unchanged) with the statuses of that build and the source sets it read.
 *
 * What is written:
 * - Mapping (and other getambassador.io kinds listed in `kCrdKinds`): Emissary's shape
 *   `{ state: Running | Inactive, reason, observedGeneration }`. Accepted → Running; Warning →
 *   Running with the warnings as reason; Rejected → Inactive with the critical findings as reason.
 *   Objects for another `ambassador_id` (Ignored) are not ours and are never touched.
 * - Ingress: `status.loadBalancer.ingress = [{ ip | hostname: publishAddress }]` for Ingresses this
 *   gateway serves (Accepted/Warning).
 * - Never for objects embedded in annotations (`location.parent`), never for file-source objects.
 *
 * Never stale, never redundant (Contour's ProxyUpdate.Mutate):
 * - The object must still exist with the same uid AND the same `metadata.generation` the build saw
 *   (the live copy comes from the Kubernetes source's watch); otherwise the write is skipped: a
 *   newer build is on its way.
 * - The patch carries `metadata.resourceVersion`, so a concurrent change yields 409 and a skip.
 * - No write when the live status already says the same. `observedGeneration` is compared only when
 *   the live status has it: a CRD schema that prunes the field (Emissary's own CRDs) must not cause
 *   a write loop.
 * - Only while `isLeader()`; on gaining leadership call `resync()`.
 * One pass runs at a time; updates arriving meanwhile coalesce into one more pass with the latest.
 */
import { isIP } from 'node:net';
import type { ResourceStatus, SourceSnapshot } from '../resources/types.js';
import { isKubeStatus, type KubeClient } from '../sources/kubernetes/client.js';
import { type KindSpec, Kinds, objectPath } from '../sources/kubernetes/kinds.js';
import type { KubeObject } from '../sources/kubernetes/reflector.js';

/** Kinds whose status follows Emissary's `{state, reason}` shape. */
export const kCrdKinds: ReadonlySet<string> = new Set(['Mapping', 'Module']);

export interface StatusWriterOptions {
  readonly client: KubeClient;
  /** Name of the Kubernetes source whose objects get status. */
  readonly source: string;
  /** The live object as the watch last saw it. */
  readonly lookup: (kind: string, namespace: string | undefined, name: string) => KubeObject | undefined;
  readonly isLeader: () => boolean;
  /** Address written into Ingress `status.loadBalancer` (IP or hostname); '' disables Ingress status. */
  readonly publishAddress: string;
  /** Writes in flight at once (default 8). */
  readonly concurrency?: number;
  readonly log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: object) => void;
}

interface Desired {
  readonly kind: string;
  readonly spec: KindSpec;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly uid: string;
  readonly generation: number | undefined;
  readonly status: Record<string, unknown>;
}

export interface StatusWriterStats {
  writes: number;
  unchanged: number;
  stale: number;
  conflicts: number;
  errors: number;
  passes: number;
}

const kMaxReason = 1024;

export class StatusWriter {
  readonly #o: StatusWriterOptions;
  #latest: { statuses: readonly ResourceStatus[]; sets: readonly SourceSnapshot[] } | null = null;
  #dirty = false;
  #running: Promise<void> | null = null;
  /** key → [desired JSON, RV before our write, RV after it]: our own write, not yet echoed back. */
  readonly #written = new Map<string, [string, string, string]>();
  /** Kinds whose CRD has no status subresource (404 on /status): not retried. */
  readonly #noStatus = new Set<string>();
  readonly stats: StatusWriterStats = {
    writes: 0,
    unchanged: 0,
    stale: 0,
    conflicts: 0,
    errors: 0,
    passes: 0,
  };

  constructor(opts: StatusWriterOptions) {
    this.#o = opts;
  }

  /** The result of one build. Returns at once; writes happen in the background. */
  update(statuses: readonly ResourceStatus[], sets: readonly SourceSnapshot[]): void {
    this.#latest = { statuses, sets };
    this.resync();
  }

  /** Re-runs the last update (after gaining leadership). */
  resync(): void {
    if (!this.#latest) return;
    this.#dirty = true;
    if (!this.#running) this.#running = this.#loop().finally(() => (this.#running = null));
  }

  /** Waits for the pending passes (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    while (this.#dirty && this.#latest) {
      this.#dirty = false;
      if (!this.#o.isLeader()) return;
      this.stats.passes++;
      const work = this.#desired(this.#latest.statuses, this.#latest.sets);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < work.length && this.#o.isLeader()) await this.#write(work[next++]!);
      };
      await Promise.all(Array.from({ length: Math.max(1, this.#o.concurrency ?? 8) }, worker));
    }
  }

  #desired(statuses: readonly ResourceStatus[], sets: readonly SourceSnapshot[]): Desired[] {
    const byLocation = new Map<string, ResourceStatus>();
    for (const s of statuses) {
      if (s.location.source !== this.#o.source || s.location.parent !== undefined) continue;
      byLocation.set(`${s.kind}|${s.location.file ?? ''}`, s);
    }
    const out: Desired[] = [];
    for (const set of sets) {
      if (set.source !== this.#o.source) continue;
      for (const so of set.objects) {
        if (so.location.parent !== undefined) continue;
        const obj = so.object as KubeObject;
        const kind = typeof obj?.['kind'] === 'string' ? (obj['kind'] as string) : '';
        const isCrd = kCrdKinds.has(kind);
        if (!isCrd && kind !== 'Ingress') continue;
        if (this.#noStatus.has(kind)) continue;
        const st = byLocation.get(`${kind}|${so.location.file ?? ''}`);
        if (!st || st.state === 'Ignored') continue;
        const meta = (obj.metadata ?? {}) as Record<string, unknown>;
        const generation =
          typeof meta['generation'] === 'number' ? (meta['generation'] as number) : undefined;
        let status: Record<string, unknown>;
        if (isCrd) {
          status = mappingStatus(st);
          if (generation !== undefined) status['observedGeneration'] = generation;
        } else {
          if (st.state === 'Rejected' || this.#o.publishAddress === '') continue;
          status = { loadBalancer: { ingress: [ingressPoint(this.#o.publishAddress)] } };
        }
        out.push({
          kind,
          spec: kindSpec(kind, obj),
          namespace: typeof meta['namespace'] === 'string' ? (meta['namespace'] as string) : undefined,
          name: String(meta['name'] ?? ''),
          uid: String(meta['uid'] ?? ''),
          generation,
          status,
        });
      }
    }
    return out;
  }

  async #write(d: Desired): Promise<void> {
    const key = `${d.kind}/${d.namespace ?? ''}/${d.name}`;
    const live = this.#o.lookup(d.kind, d.namespace, d.name);
    const liveMeta = (live?.metadata ?? {}) as Record<string, unknown>;
    if (!live || String(liveMeta['uid'] ?? '') !== d.uid || liveMeta['generation'] !== d.generation) {
      this.stats.stale++;
      return;
    }
    const rv = String(liveMeta['resourceVersion'] ?? '');
    const want = JSON.stringify(d.status);
    const mine = this.#written.get(key);
    if (mine && mine[0] === want && (rv === mine[1] || rv === mine[2])) {
      this.stats.unchanged++;
      return;
    }
    if (sameStatus(d.kind, live['status'], d.status)) {
      this.stats.unchanged++;
      return;
    }
    const apiVersion = typeof live['apiVersion'] === 'string' ? (live['apiVersion'] as string) : '';
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    const patchStatus: Record<string, unknown> = { ...d.status };
    if (kCrdKinds.has(d.kind) && patchStatus['reason'] === undefined) patchStatus['reason'] = null;
    try {
      const res = await this.#o.client.request<KubeObject>({
        method: 'PATCH',
        path: objectPath(d.spec, version, d.namespace, d.name, 'status'),
        contentType: 'application/merge-patch+json',
        body: { metadata: { resourceVersion: rv }, status: patchStatus },
      });
      this.stats.writes++;
      this.#written.set(key, [want, rv, String(res?.metadata?.['resourceVersion'] ?? '')]);
      if (this.#written.size > 4 * 65_536) this.#written.clear();
    } catch (err) {
      if (isKubeStatus(err, 409)) {
        this.stats.conflicts++;
      } else if (isKubeStatus(err, 404) && live) {
        // The object exists (the watch has it) but /status does not: the CRD has no subresource.
        this.#noStatus.add(d.kind);
        this.#o.log?.('warn', `${d.kind} has no status subresource; its status is not written`, {
          resource: key,
        });
      } else {
        this.stats.errors++;
        this.#o.log?.('warn', 'status write failed', { resource: key, err: String(err) });
      }
    }
  }
}

/** Emissary's Mapping status from one ResourceStatus. */
export function mappingStatus(st: ResourceStatus): Record<string, unknown> {
  if (st.state === 'Accepted') return { state: 'Running' };
  const critical = st.state === 'Rejected';
  const reason = st.conditions
    .filter((c) => c.critical === critical)
    .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
    .join('; ');
  const out: Record<string, unknown> = { state: critical ? 'Inactive' : 'Running' };
  if (reason) out['reason'] = reason.length > kMaxReason ? `${reason.slice(0, kMaxReason - 1)}…` : reason;
  return out;
}

function ingressPoint(address: string): Record<string, string> {
  return isIP(address) ? { ip: address } : { hostname: address };
}

function kindSpec(kind: string, obj: KubeObject): KindSpec {
  const known = (Kinds as Record<string, KindSpec>)[kind];
  if (known) return known;
  const apiVersion = String(obj['apiVersion'] ?? '');
  const cut = apiVersion.indexOf('/');
  return {
    kind,
    resource: `${kind.toLowerCase()}s`,
    group: cut < 0 ? '' : apiVersion.slice(0, cut),
    versions: [cut < 0 ? apiVersion : apiVersion.slice(cut + 1)],
    namespaced: true,
  };
}

function sameStatus(kind: string, live: unknown, want: Record<string, unknown>): boolean {
  const cur = (typeof live === 'object' && live !== null ? live : {}) as Record<string, unknown>;
  if (kind === 'Ingress') {
    return JSON.stringify(cur['loadBalancer'] ?? null) === JSON.stringify(want['loadBalancer']);
  }
  if (cur['state'] !== want['state'] || (cur['reason'] ?? undefined) !== want['reason']) return false;
  if (cur['observedGeneration'] === undefined) return true;
  return cur['observedGeneration'] === want['observedGeneration'];
}
