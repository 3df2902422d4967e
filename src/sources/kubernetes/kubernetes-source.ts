/**
 * The Kubernetes source: one reflector per watched kind (per namespace when `namespaces` is set),
 * published as one whole `SourceSnapshot`. Created by the composition root (`legate serve
 * --kubernetes`); the status writer reads its live stores.
 *
 * Invariants:
 * - Initial-sync gate: nothing is published until every reflector has listed once (or settled as
 *   Forbidden/NotInstalled, which count as empty). The first publish is the source's initial sync.
 * - Level-triggered: every publish is the whole current set, ordered by kind (watch order), then
 *   namespace/name. Publishes are throttled to one per `debounceMs` (default 50 ms); an isolated
 *   change goes out on the next tick, the reconciler's holdoff does the debouncing.
 * - Objects go out as the API returned them, `apiVersion`/`kind` filled in, with location
 *   `{ source, file: 'namespace/name' }` (`name` for cluster-scoped kinds).
 * - A kind that cannot be read is a `SourceProblem` (shown on /diag as a rejected row) and in
 *   `health()`; it never blocks the other kinds. A Forbidden kind is served as empty: RBAC that
 *   withholds Ingress should not take a Mapping-only install down.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import type { SourceObject, SourceProblem, SourceSnapshot } from '../../resources/types.js';
import type { Source } from '../source.js';
import { realTimers, type Timers } from './backoff.js';
import type { KubeClient } from './client.js';
import { type KindName, type KindSpec, Kinds, kDefaultKinds } from './kinds.js';
import {
  type KubeObject,
  Reflector,
  type ReflectorHealth,
  type ReflectorLog,
  type ReflectorOptions,
  ReflectorState,
} from './reflector.js';

export interface KubernetesSourceOptions {
  readonly client: KubeClient;
  /** Namespaces to watch; empty or absent = all namespaces. */
  readonly namespaces?: readonly string[];
  readonly kinds?: readonly (KindName | KindSpec)[];
  readonly name?: string;
  /** At most one publish per this many ms after the initial sync (default 50 ms). */
  readonly debounceMs?: number;
  readonly log?: ReflectorLog;
  readonly timers?: Timers;
  /** Passed to every reflector (timeouts, backoff, page size, random). */
  readonly reflector?: Partial<
    Omit<ReflectorOptions, 'client' | 'kind' | 'namespace' | 'onChange' | 'onHealth' | 'log' | 'timers'>
  >;
}

export interface KindHealth extends ReflectorHealth {
  readonly watch: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly synced: boolean;
  readonly objects: number;
}

export class KubernetesSource implements Source {
  readonly name: string;
  readonly #o: KubernetesSourceOptions;
  readonly #timers: Timers;
  readonly #reflectors: Reflector[] = [];
  #publish: ((s: SourceSnapshot) => void) | null = null;
  #gateOpen = false;
  #debounce: unknown = null;
  #published = 0;
  #lastPublishAt = Number.NEGATIVE_INFINITY;

  constructor(opts: KubernetesSourceOptions) {
    this.#o = opts;
    this.name = opts.name ?? 'kubernetes';
    this.#timers = opts.timers ?? realTimers;
    const kinds = (opts.kinds ?? kDefaultKinds).map((k) => (typeof k === 'string' ? Kinds[k] : k));
    const namespaces =
      opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [undefined];
    for (const kind of kinds) {
      for (const ns of kind.namespaced ? namespaces : [undefined]) {
        this.#reflectors.push(
          new Reflector({
            ...opts.reflector,
            client: opts.client,
            kind,
            namespace: ns,
            onChange: () => this.#changed(),
            onHealth: () => this.#changed(),
            ...(opts.log ? { log: opts.log } : {}),
            timers: this.#timers,
          }),
        );
      }
    }
  }

  /** Every reflector has listed once (or settled as forbidden / not installed). */
  get synced(): boolean {
    return this.#reflectors.every((r) => r.synced);
  }

  /** How many snapshots were published (tests, diagnostics). */
  get publishCount(): number {
    return this.#published;
  }

  get reflectors(): readonly Reflector[] {
    return this.#reflectors;
  }

  health(): KindHealth[] {
    return this.#reflectors.map((r) => ({
      ...r.health,
      watch: r.label,
      kind: r.kind.kind,
      ...(r.namespace ? { namespace: r.namespace } : {}),
      synced: r.synced,
      objects: r.store.size,
    }));
  }

  /** The live object (as last seen by the watch), for the status writer. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = namespace ? `${namespace}/${name}` : name;
    for (const r of this.#reflectors) {
      if (r.kind.kind !== kind) continue;
      if (r.namespace !== undefined && r.namespace !== namespace) continue;
      const hit = r.store.get(key);
      if (hit) return hit;
    }
    return undefined;
  }

  /** The version of `kind` the reflector currently reads (`getambassador.io/v3alpha1`). */
  apiVersionOf(kind: string): string | undefined {
    return this.#reflectors.find((r) => r.kind.kind === kind)?.apiVersion;
  }

  async start(signal: AbortSignal, publish: (snapshot: SourceSnapshot) => void): Promise<void> {
    this.#publish = publish;
    // Every reflector keeps up to two operations on `signal` at once (a request or watch, and a
    // backoff sleep), each with one abort listener that it removes when done: the count is bounded
    // by the number of reflectors, so raise the warning threshold to that bound.
    setMaxListeners(Math.max(getMaxListeners(signal), 2 * this.#reflectors.length + 10), signal);
    signal.addEventListener(
      'abort',
      () => {
        if (this.#debounce !== null) this.#timers.clearTimeout(this.#debounce);
        this.#debounce = null;
        this.#publish = null;
      },
      { once: true },
    );
    for (const r of this.#reflectors) void r.run(signal);
    await Promise.race([
      Promise.all(this.#reflectors.map((r) => r.whenSynced())),
      new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    ]);
    if (signal.aborted) return;
    this.#gateOpen = true;
    this.#flush();
  }

  /** The whole current set (also used by tests). */
  snapshot(): SourceSnapshot {
    const objects: SourceObject[] = [];
    const problems: SourceProblem[] = [];
    for (const r of this.#reflectors) {
      const keys = [...r.store.keys()].sort();
      for (const key of keys) {
        objects.push({ object: r.store.get(key), location: { source: this.name, file: key } });
      }
      const h = r.health;
      if (h.state === ReflectorState.Forbidden || h.state === ReflectorState.NotInstalled) {
        problems.push({ location: { source: this.name, file: `watch ${r.label}` }, message: h.message });
      }
    }
    return { source: this.name, objects, problems };
  }

  #changed(): void {
    if (!this.#gateOpen || this.#publish === null) return;
    if (this.#debounce !== null) return;
    // Throttle: an isolated change goes out on the next tick (events of one chunk coalesce); in a
    // burst, at most one publish per window, so 10k events never cost 10k whole-set snapshots.
    const wait = Math.max(0, this.#lastPublishAt + (this.#o.debounceMs ?? 50) - this.#timers.now());
    this.#debounce = this.#timers.setTimeout(() => {
      this.#debounce = null;
      this.#flush();
    }, wait);
  }

  #flush(): void {
    if (!this.#publish) return;
    this.#published++;
    this.#lastPublishAt = this.#timers.now();
    this.#publish(this.snapshot());
  }
}
