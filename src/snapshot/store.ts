/**
 * SnapshotStore: the one place the live snapshot is held and replaced.
 *
 * Written only by the control loop through `swap(next)` (convention 4); read by the request path as
 * `store.current`, once per request, on arrival. A swap is one reference assignment, so a request
 * that already read `current` finishes on the snapshot it began with.
 *
 * Invariants:
 * - `swap` is the only writer of `current`; versions strictly increase (a stale or repeated snapshot
 *   is refused with GW_ERR_CONFIG_LOAD and `current` is left alone).
 * - A failed build never replaces `current`: the control loop calls `recordFailure`, the last good
 *   snapshot keeps serving, and `lastFailure` says why until the next successful swap. `lastGood`
 *   is therefore always the snapshot being served; the name states that guarantee for diagnostics
 *   and /ready.
 * - Subscribers run synchronously after the assignment, in subscription order. One that throws does
 *   not stop the swap or the others; its error goes to `onListenerError`.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { Snapshot } from './types.js';

export type SnapshotListener = (next: Snapshot, previous: Snapshot | null) => void;

export interface SnapshotFailure {
  readonly error: unknown;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly at: number;
}

export interface SnapshotStoreOptions {
  /** Default: `process.emitWarning`. */
  readonly onListenerError?: (error: unknown) => void;
  /** Default: `Date.now`. */
  readonly now?: () => number;
}

export class SnapshotStore {
  #current: Snapshot | null = null;
  #lastFailure: SnapshotFailure | null = null;
  #listeners: SnapshotListener[] = [];
  readonly #onListenerError: (error: unknown) => void;
  readonly #now: () => number;

  constructor(options: SnapshotStoreOptions = {}) {
    this.#onListenerError =
      options.onListenerError ??
      ((error) => process.emitWarning(`snapshot listener failed: ${String(error)}`, 'LegateWarning'));
    this.#now = options.now ?? Date.now;
  }

  /** The snapshot requests use; null until the first swap. */
  get current(): Snapshot | null {
    return this.#current;
  }

  /** Version of `current`, 0 before the first swap. The next snapshot should be `version + 1`. */
  get version(): number {
    return this.#current === null ? 0 : this.#current.version;
  }

  /** The last snapshot that was swapped in successfully (the one being served). */
  get lastGood(): Snapshot | null {
    return this.#current;
  }

  /** The most recent failed build since the last successful swap, or null. */
  get lastFailure(): SnapshotFailure | null {
    return this.#lastFailure;
  }

  swap(next: Snapshot): void {
    const previous = this.#current;
    if (previous !== null && next.version <= previous.version) {
      throw new GatewayError('GW_ERR_CONFIG_LOAD', {
        message: `snapshot version ${next.version} is not newer than the live version ${previous.version}`,
      });
    }
    this.#current = next;
    this.#lastFailure = null;
    const listeners = this.#listeners.slice();
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](next, previous);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  /** Records a build that failed as a whole; `current` stays as it is. */
  recordFailure(error: unknown): void {
    this.#lastFailure = { error, at: this.#now() };
  }

  /** Returns an idempotent unsubscribe function. */
  subscribe(fn: SnapshotListener): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry: SnapshotListener = (next, previous) => fn(next, previous);
    this.#listeners.push(entry);
    return () => {
      const i = this.#listeners.indexOf(entry);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }
}
