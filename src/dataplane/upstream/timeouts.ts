/**
 * Per-request timeouts on one coarse shared timer (the idea of undici's `util/timers.js`): one
 * interval for the whole data plane instead of a timer per request, and "activity" is a field write,
 * so refreshing the idle timeout on every body chunk costs nothing.
 *
 * Used by the exchange for `timeout_ms` (end to end), `idle_timeout_ms` (stream idle) and
 * `response_headers_timeout_ms` (the upstream's response head); connect timeouts belong to undici's
 * connector (pool.ts).
 *
 * Layout: an unordered array of armed entries; each entry stores its own index, so removal is
 * O(1) by swapping the last entry into the hole:
 *
 *     entries: [ e0 | e1 | e2 | e3 ]      remove(e1): [ e0 | e3 | e2 ]    e3.timerSlot = 1
 *
 * Each tick walks the array once. Precision is one tick (default 50 ms): a timeout fires between
 * `t` and `t + tickMs` after it was due. Envoy fires exactly; for timeouts measured in seconds the
 * difference is immaterial, and it is the price of not arming a native timer per request.
 * The interval runs only while entries are armed and is unref'd, so it never keeps a process alive.
 */

/** Idle limit for an exchange whose route disables both of its timeouts, and the time limit of a
 * shadow without `timeout_ms`: nothing waits forever on a silent upstream. */
export const DEFAULT_BACKSTOP_MS = 300_000;

export const TimeoutKind = {
  /** `timeout_ms` elapsed: reply 504 if no response head was sent, else abort the stream. */
  Request: 1,
  /** No bytes either way for `idle_timeout_ms`: same handling as Request, with the idle code. */
  Idle: 2,
  /** No upstream response head by `headDeadlineAt`: reply 504 (no head can have been sent, since
   * the entry clears `headDeadlineAt` when the head arrives). */
  ResponseHeaders: 3,
} as const;
export type TimeoutKind = (typeof TimeoutKind)[keyof typeof TimeoutKind];

/** An armed request. The timer owns `timerSlot`; the entry owns the rest. */
export interface TimedEntry {
  /** Index in the timer's array, -1 when not armed. */
  timerSlot: number;
  /** Absolute deadline in timer-clock ms, or 0 for none. */
  deadlineAt: number;
  /** Absolute deadline for the upstream's response head in timer-clock ms, or 0 for none. The
   * entry sets it back to 0 when the head arrives; `arm` leaves it alone. */
  headDeadlineAt: number;
  /** Idle limit in ms, or 0 for none. */
  idleMs: number;
  /** Last activity in timer-clock ms (see `CoarseTimer.now`). */
  lastActivityAt: number;
  /** Called at most once; the entry is already disarmed when it runs. */
  onTimeout(kind: TimeoutKind): void;
}

export interface CoarseTimerOptions {
  /** Default 50. */
  readonly tickMs?: number;
  /** Monotonic clock in ms. Default: `performance.now`. */
  readonly clock?: () => number;
  /** Run the interval. Default true; tests pass false and call `tick()` themselves. */
  readonly autoTick?: boolean;
}

export class CoarseTimer {
  readonly #entries: TimedEntry[] = [];
  readonly #tickMs: number;
  readonly #clock: () => number;
  readonly #autoTick: boolean;
  #interval: NodeJS.Timeout | null = null;
  #now: number;

  constructor(options: CoarseTimerOptions = {}) {
    this.#tickMs = options.tickMs ?? 50;
    this.#clock = options.clock ?? (() => performance.now());
    this.#autoTick = options.autoTick ?? true;
    this.#now = this.#clock();
  }

  /** The coarse clock: exact at arm time and at each tick; cheap to read for activity stamps. */
  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Arms `entry` with an end-to-end timeout and/or an idle timeout (0 disables either). */
  arm(entry: TimedEntry, timeoutMs: number, idleMs: number): void {
    if (timeoutMs <= 0 && idleMs <= 0) return;
    const now = this.#clock();
    this.#now = now;
    entry.deadlineAt = timeoutMs > 0 ? now + timeoutMs : 0;
    entry.idleMs = Math.max(idleMs, 0);
    entry.lastActivityAt = now;
    this.#insert(entry);
  }

  /** Adds an entry to the array if it is not armed, and makes sure the interval runs. */
  #insert(entry: TimedEntry): void {
    if (entry.timerSlot === -1) {
      entry.timerSlot = this.#entries.length;
      this.#entries.push(entry);
    }
    if (this.#autoTick && this.#interval === null) {
      this.#interval = setInterval(() => this.tick(), this.#tickMs);
      this.#interval.unref();
    }
  }

  /** Sets or replaces the end-to-end deadline of an entry (arming it if needed). */
  setDeadline(entry: TimedEntry, timeoutMs: number): void {
    if (timeoutMs <= 0) return;
    if (entry.timerSlot === -1) {
      this.arm(entry, timeoutMs, entry.idleMs);
      return;
    }
    entry.deadlineAt = this.#clock() + timeoutMs;
  }

  /**
   * Sets the response-head deadline of an entry, arming it if needed (its other limits are kept).
   * 0 leaves it unset.
   */
  setHeadDeadline(entry: TimedEntry, timeoutMs: number): void {
    if (timeoutMs <= 0) return;
    const now = this.#clock();
    this.#now = now;
    entry.headDeadlineAt = now + timeoutMs;
    if (entry.timerSlot === -1) {
      entry.lastActivityAt = now;
      this.#insert(entry);
    }
  }

  /**
   * Re-inserts an entry the timer just fired for, keeping its deadline and restarting its idle
   * window (used when a fired idle timeout finds activity the timer could not see).
   */
  rearm(entry: TimedEntry): void {
    if (entry.deadlineAt === 0 && entry.idleMs === 0 && entry.headDeadlineAt === 0) return;
    entry.lastActivityAt = this.#now;
    this.#insert(entry);
  }

  /** Records activity for the idle timeout. */
  touch(entry: TimedEntry): void {
    entry.lastActivityAt = this.#now;
  }

  disarm(entry: TimedEntry): void {
    const slot = entry.timerSlot;
    if (slot === -1) return;
    const entries = this.#entries;
    const last = entries.pop()!;
    if (last !== entry) {
      entries[slot] = last;
      last.timerSlot = slot;
    }
    entry.timerSlot = -1;
    if (entries.length === 0 && this.#interval !== null) {
      clearInterval(this.#interval);
      this.#interval = null;
    }
  }

  /** Fires every due entry. Public so tests drive time with an injected clock. */
  tick(): void {
    const now = this.#clock();
    this.#now = now;
    const entries = this.#entries;
    let i = 0;
    while (i < entries.length) {
      const e = entries[i];
      let kind: TimeoutKind | 0 = 0;
      if (e.deadlineAt !== 0 && now >= e.deadlineAt) kind = TimeoutKind.Request;
      else if (e.headDeadlineAt !== 0 && now >= e.headDeadlineAt) kind = TimeoutKind.ResponseHeaders;
      else if (e.idleMs !== 0 && now - e.lastActivityAt >= e.idleMs) kind = TimeoutKind.Idle;
      if (kind === 0) {
        i++;
        continue;
      }
      // disarm moves the last entry into slot i, so i is not advanced.
      this.disarm(e);
      e.onTimeout(kind);
    }
  }

  close(): void {
    if (this.#interval !== null) clearInterval(this.#interval);
    this.#interval = null;
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) entries[i].timerSlot = -1;
    entries.length = 0;
  }
}
