/**
 * ClusterRegistry: the live upstream state (pools, LB cursors, in-flight counts) keyed by cluster
 * id, kept outside the snapshot so it survives swaps (convention 4; Envoy's cluster manager).
 *
 * Who calls it: the composition root calls `update(snapshot.clusters)` on every swap, and the
 * exchange calls `sync(snapshot)` on each request, which applies a newer snapshot's clusters itself
 * if the root has not yet (one integer comparison when nothing changed). `resolve` + `acquire` /
 * `release` bracket every upstream request.
 *
 * Gateway-wide pool settings (`max_response_headers_kb`) come from the snapshot's settings:
 * `update(clusters, settings)` or `sync(snapshot)`. `update(clusters)` without settings keeps the
 * last ones, so a root that passes only clusters still gets a settings change applied by the first
 * request that sees the new snapshot (its `sync`), before that request picks a pool.
 *
 * Invariants:
 * - A cluster whose id survives an update keeps its pools and cursor. Endpoints added get a new
 *   pool; endpoints removed have their pool closed gracefully (undici finishes what is in flight).
 *   A change of pool shape (scheme, timeouts, authority, response head limit) rebuilds the pools
 *   the same way.
 * - A cluster that disappears is retired: it keeps serving what is in flight and whatever still
 *   arrives for it (a request that read the previous snapshot), and its pools close once its
 *   in-flight count reaches zero.
 * - `resolve` never hands out a closed cluster: a request for an id the registry no longer holds
 *   (its snapshot is older than the last update and the cluster has since closed) gets a fresh
 *   retired cluster built from the request's own snapshot, which closes again when idle. Swaps
 *   therefore never fail a request, whatever order the root applies `update` and `swap` in.
 */
import type { IrCluster, IrSettings } from '../../ir/types.js';
import type { Snapshot } from '../../snapshot/types.js';
import { RoundRobin } from './lb/round-robin.js';
import {
  DEFAULT_POOL_SETTINGS,
  EndpointPool,
  endpointKey,
  type PoolSettings,
  poolSettingsOf,
  poolShape,
} from './pool.js';

export class ClusterState {
  readonly id: string;
  ir: IrCluster;
  settings: PoolSettings;
  shape: string;
  /** Pools of the current endpoints, in the cluster's endpoint order. */
  pools: EndpointPool[];
  readonly lb = new RoundRobin();
  inflight = 0;
  retired = false;
  closed = false;

  constructor(ir: IrCluster, settings: PoolSettings = DEFAULT_POOL_SETTINGS) {
    this.id = ir.id;
    this.ir = ir;
    this.settings = settings;
    this.shape = poolShape(ir, settings);
    this.pools = [];
    for (let i = 0; i < ir.endpoints.length; i++) {
      this.pools.push(new EndpointPool({ cluster: ir, endpoint: ir.endpoints[i], settings }));
    }
  }

  /** Next endpoint pool by round robin, or null when the cluster has no endpoints (503 UH). */
  pick(): EndpointPool | null {
    const i = this.lb.next(this.pools.length);
    return i === -1 ? null : this.pools[i];
  }

  /** Brings pools in line with `ir` and `settings`; returns the pools to close. */
  reconcile(ir: IrCluster, settings: PoolSettings = this.settings): EndpointPool[] {
    const shape = poolShape(ir, settings);
    const sameShape = shape === this.shape;
    const old = this.pools;
    const byKey = new Map<string, EndpointPool>();
    if (sameShape) for (let i = 0; i < old.length; i++) byKey.set(old[i].key, old[i]);
    const next: EndpointPool[] = [];
    for (let i = 0; i < ir.endpoints.length; i++) {
      const key = endpointKey(ir.endpoints[i]);
      const kept = byKey.get(key);
      if (kept !== undefined) {
        byKey.delete(key);
        next.push(kept);
      } else {
        next.push(new EndpointPool({ cluster: ir, endpoint: ir.endpoints[i], settings }));
      }
    }
    this.ir = ir;
    this.settings = settings;
    this.shape = shape;
    this.pools = next;
    if (sameShape && byKey.size === 0) return [];
    const drop: EndpointPool[] = [];
    for (let i = 0; i < old.length; i++) if (!next.includes(old[i])) drop.push(old[i]);
    return drop;
  }

  close(): Promise<void> {
    this.closed = true;
    const pools = this.pools;
    const all: Promise<void>[] = [];
    for (let i = 0; i < pools.length; i++) all.push(pools[i].close());
    return Promise.all(all).then(() => {});
  }
}

export interface ClusterInfo {
  readonly id: string;
  readonly service: string;
  readonly retired: boolean;
  readonly inflight: number;
  readonly endpoints: readonly {
    readonly key: string;
    readonly connected: number;
    readonly running: number;
  }[];
}

export class ClusterRegistry {
  readonly #live = new Map<string, ClusterState>();
  readonly #retired = new Map<string, ClusterState>();
  /** Pools dropped from live clusters, closing gracefully; awaited on shutdown. */
  readonly #closing = new Set<Promise<void>>();
  #lastInput: ReadonlyMap<string, IrCluster> | null = null;
  #settings: PoolSettings = DEFAULT_POOL_SETTINGS;
  #appliedVersion = 0;

  /**
   * Reconciles live state with a snapshot's clusters (and, when given, its settings; without them
   * the last settings stay). Idempotent for the same input.
   */
  update(clusters: ReadonlyMap<string, IrCluster>, settings?: IrSettings): void {
    const pool = settings === undefined ? this.#settings : poolSettingsOf(settings, this.#settings);
    if (clusters === this.#lastInput && pool === this.#settings) return;
    this.#lastInput = clusters;
    this.#settings = pool;
    for (const [id, ir] of clusters) {
      let state = this.#live.get(id);
      if (state === undefined) {
        const old = this.#retired.get(id);
        if (old !== undefined && !old.closed) {
          this.#retired.delete(id);
          old.retired = false;
          state = old;
        }
      }
      if (state === undefined) {
        this.#live.set(id, new ClusterState(ir, pool));
        continue;
      }
      this.#live.set(id, state);
      if (state.ir !== ir || state.settings !== pool) this.#drop(state.reconcile(ir, pool));
    }
    for (const [id, state] of this.#live) {
      if (clusters.has(id)) continue;
      this.#live.delete(id);
      this.#retire(state);
    }
  }

  /** Applies `snap.clusters` if this snapshot is newer than anything applied; cheap otherwise. */
  sync(snap: Snapshot): void {
    if (snap.version <= this.#appliedVersion) return;
    this.#appliedVersion = snap.version;
    this.update(snap.clusters, snap.settings);
  }

  /** The live state for a cluster the request's snapshot names; never a closed one. */
  resolve(ir: IrCluster): ClusterState {
    const live = this.#live.get(ir.id);
    if (live !== undefined) return live;
    const retired = this.#retired.get(ir.id);
    if (retired !== undefined && !retired.closed) return retired;
    const fresh = new ClusterState(ir, this.#settings);
    fresh.retired = true;
    this.#retired.set(ir.id, fresh);
    return fresh;
  }

  acquire(state: ClusterState): void {
    state.inflight++;
  }

  release(state: ClusterState): void {
    state.inflight--;
    if (state.retired && state.inflight === 0 && !state.closed) this.#closeRetired(state);
  }

  /** Ids of live clusters. */
  get ids(): string[] {
    return [...this.#live.keys()];
  }

  get retiredCount(): number {
    return this.#retired.size;
  }

  /** Live state by id (live clusters only). */
  get(id: string): ClusterState | undefined {
    return this.#live.get(id);
  }

  info(): ClusterInfo[] {
    const out: ClusterInfo[] = [];
    const add = (s: ClusterState): void => {
      out.push({
        id: s.id,
        service: s.ir.service,
        retired: s.retired,
        inflight: s.inflight,
        endpoints: s.pools.map((p) => ({
          key: p.key,
          connected: p.stats.connected,
          running: p.stats.running,
        })),
      });
    };
    for (const s of this.#live.values()) add(s);
    for (const s of this.#retired.values()) add(s);
    return out;
  }

  /** Closes every pool. Graceful unless `force`; used on shutdown after the listener drained. */
  async close(opts: { readonly force?: boolean } = {}): Promise<void> {
    const all: Promise<void>[] = [...this.#closing];
    for (const map of [this.#live, this.#retired]) {
      for (const s of map.values()) {
        s.closed = true;
        for (let i = 0; i < s.pools.length; i++)
          all.push(opts.force ? s.pools[i].destroy() : s.pools[i].close());
      }
      map.clear();
    }
    this.#lastInput = null;
    await Promise.all(all);
  }

  #retire(state: ClusterState): void {
    state.retired = true;
    const prev = this.#retired.get(state.id);
    if (prev !== undefined && prev !== state && !prev.closed && prev.inflight === 0) this.#closeRetired(prev);
    this.#retired.set(state.id, state);
    if (state.inflight === 0) this.#closeRetired(state);
  }

  #closeRetired(state: ClusterState): void {
    if (this.#retired.get(state.id) === state) this.#retired.delete(state.id);
    this.#track(state.close());
  }

  #drop(pools: EndpointPool[]): void {
    for (let i = 0; i < pools.length; i++) this.#track(pools[i].close());
  }

  #track(p: Promise<void>): void {
    this.#closing.add(p);
    void p.then(() => this.#closing.delete(p));
  }
}
