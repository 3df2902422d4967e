/**
 * Shadowing: a fire-and-forget copy of a request to the route's shadow cluster (Envoy
 * `request_mirror_policies`). The copy's Host gets `-shadow` appended (before any port), as Envoy
 * does; its response is read and discarded; its failures are counted and otherwise ignored.
 *
 * Called by the exchange after the primary request was dispatched, so it can never delay it, and
 * it shares nothing with the primary that could fail it: its own handler, its own in-flight
 * accounting on the shadow cluster.
 *
 * Bodies: only requests without a body are mirrored. Mirroring a body means teeing the client
 * stream while undici consumes it; a tee that buffers breaks the bounded-memory guarantee and one
 * that does not would let a slow shadow throttle the primary. Requests with a body are counted in
 * `shadowSkipped` instead. TODO(#2): mirror small bodies with a bounded buffer.
 *
 * Time limit: the shadow's `timeout_ms` (else `DEFAULT_BACKSTOP_MS`) bounds the whole mirrored
 * exchange on the data plane's coarse timer; a shadow past it is aborted.
 */
import type { CompiledShadow, Snapshot } from '../../snapshot/types.js';
import type { DataPlaneStats } from '../stats.js';
import type { ClusterRegistry, ClusterState } from './clusters.js';
import type { UpstreamHandler } from './http1-connection.js';
import { type CoarseTimer, DEFAULT_BACKSTOP_MS, type TimedEntry } from './timeouts.js';

/** What the shadow needs from the primary exchange. */
export interface ShadowSource {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly upstreamHost: string;
}

export interface MirrorRequest {
  readonly shadow: CompiledShadow;
  readonly exchange: ShadowSource;
  /** The primary's upstream request head (flat name/value array). */
  readonly head: readonly string[];
  readonly hasBody: boolean;
  readonly snap: Snapshot;
}

/** `foo.com` → `foo.com-shadow`; `foo.com:8080` → `foo.com-shadow:8080`. */
export function shadowHost(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon === -1 || host.indexOf(']') > colon) return host + '-shadow';
  return host.slice(0, colon) + '-shadow' + host.slice(colon);
}

class ShadowHandler implements UpstreamHandler, TimedEntry {
  readonly #registry: ClusterRegistry;
  readonly #state: ClusterState;
  readonly #timer: CoarseTimer;
  #abort: ((err?: Error) => void) | null = null;
  #released = false;
  // TimedEntry
  timerSlot = -1;
  deadlineAt = 0;
  headDeadlineAt = 0;
  idleMs = 0;
  lastActivityAt = 0;

  constructor(registry: ClusterRegistry, state: ClusterState, timer: CoarseTimer) {
    this.#registry = registry;
    this.#state = state;
    this.#timer = timer;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#timer.disarm(this);
    this.#registry.release(this.#state);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onResponseStarted(): void {}

  onHeaders(): boolean {
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.#release();
  }

  onError(): void {
    this.#release();
  }

  onTimeout(): void {
    if (this.#released) return;
    this.#release();
    this.#abort?.();
  }
}

export class ShadowSender {
  readonly #clusters: ClusterRegistry;
  readonly #stats: DataPlaneStats;
  readonly #random: () => number;
  readonly #timer: CoarseTimer;

  constructor(opts: {
    readonly clusters: ClusterRegistry;
    readonly stats: DataPlaneStats;
    readonly random: () => number;
    readonly timer: CoarseTimer;
  }) {
    this.#clusters = opts.clusters;
    this.#stats = opts.stats;
    this.#random = opts.random;
    this.#timer = opts.timer;
  }

  maybeMirror(m: MirrorRequest): void {
    const shadow = m.shadow;
    if (shadow.percent <= 0) return;
    if (shadow.percent < 100 && this.#random() * 100 >= shadow.percent) return;
    if (m.hasBody) {
      this.#stats.shadowSkipped++;
      return;
    }
    const ir = m.snap.clusters.get(shadow.cluster);
    if (ir === undefined) return;
    const state = this.#clusters.resolve(ir);
    const pool = state.pick();
    if (pool === null) return;
    const ex = m.exchange;
    let path = shadow.rewritePath !== null ? shadow.rewritePath(ex.path) : ex.path;
    if (ex.query !== '') path = path + '?' + ex.query;
    const host = shadowHost(shadow.hostRewrite !== null ? shadow.hostRewrite : ex.upstreamHost);
    const head = m.head.slice();
    for (let i = 0; i < head.length; i += 2) if (head[i] === 'host') head[i + 1] = host;
    const timeout = shadow.timeoutMs > 0 ? shadow.timeoutMs : DEFAULT_BACKSTOP_MS;
    this.#clusters.acquire(state);
    this.#stats.shadowRequests++;
    const handler = new ShadowHandler(this.#clusters, state, this.#timer);
    this.#timer.arm(handler, timeout, 0);
    try {
      pool.dispatch({ path, method: ex.method, headers: head, body: null }, handler);
    } catch {
      // A mirror never fails the primary.
      handler.onError();
    }
  }
}
