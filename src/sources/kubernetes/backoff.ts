/**
 * Exponential backoff with jitter, and the timer interface the Kubernetes source injects.
 *
 * Used by the reflector (between failed lists/watches) and by the leader elector. Delays grow
 * `base · factor^n` up to `max`; each delay is drawn uniformly from [delay·(1−jitter), delay]
 * ("equal-ish" jitter: never zero, never above the cap) so replicas restarted together spread out.
 * The caller resets the sequence after a healthy period (a watch that stayed up long enough).
 */

import type { Timers } from '../../util/timers.js';

export { realTimers, type Timers } from '../../util/timers.js';

/** Resolves after `ms` on `timers`, or at once (resolving `false`) when `signal` aborts. */
export function sleep(timers: Timers, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      resolve(false);
    };
    const handle = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface BackoffOptions {
  /** First delay in ms (default 500). */
  readonly baseMs?: number;
  /** Cap in ms (default 30 000). */
  readonly maxMs?: number;
  /** Growth per failure (default 2). */
  readonly factor?: number;
  /** Fraction of the delay that is random, 0–1 (default 0.5). */
  readonly jitter?: number;
  /** Random source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export class Backoff {
  readonly #base: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#base = opts.baseMs ?? 500;
    this.#max = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    this.#random = opts.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.#max, this.#base * this.#factor ** this.#attempt);
    if (ceiling < this.#max) this.#attempt++;
    return ceiling * (1 - this.#jitter * this.#random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** `value` ± `fraction`, uniformly (for watch timeouts and renew periods). */
export function jittered(value: number, fraction: number, random: () => number = Math.random): number {
  return value * (1 - fraction + 2 * fraction * random());
}
