/**
 * The timer interface that time-driven control-plane code takes by injection (the reconciler's
 * debounce, the Kubernetes reflectors' backoff, leader election), so tests drive a manual clock
 * instead of sleeping. `now()` is wall-clock milliseconds: leader election writes it into Lease
 * timestamps. Real timers are unref'd: they never keep the process alive on their own.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};
