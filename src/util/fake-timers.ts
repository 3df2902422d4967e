/**
 * A manual clock for tests of time-driven control-plane code (the reconciler, the Kubernetes
 * reflectors, leader election): timers fire only when the test advances time, so no test sleeps.
 * Test support only; nothing in the gateway imports it.
 */
import type { Timers } from './timers.js';

/** Timers fire only when the test advances time. */
export class FakeTimers implements Timers {
  #now = 0;
  #seq = 0;
  readonly pending = new Map<number, { at: number; ms: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.pending.set(id, { at: this.#now + ms, ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Delays of the timers currently pending (to check backoff choices). */
  delays(): number[] {
    return [...this.pending.values()].map((p) => p.ms);
  }
  async advance(ms: number): Promise<void> {
    await settle();
    const until = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= until && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
      await settle();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets pending promise chains run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
