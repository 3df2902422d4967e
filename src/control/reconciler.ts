/**
 * The reconcile loop: the only place configuration changes turn into a new IR.
 *
 * Sources publish whole sets into per-source latest-wins slots. Any change schedules one rebuild
 * from the whole set (level-triggered; no diffs are replayed):
 *
 *   publish ─► slot[source] = set ─► holdoff timer (reset on each change, capped by maxDelay;
 *                                        │             none after a quiet period, see below)
 *                                        ▼
 *             all sources synced? ─ no ─► wait (nothing is applied from a half-synced view)
 *                    │ yes
 *                    ▼
 *   input hash unchanged? ─ yes ─► skip      (before any work)
 *                    │ no
 *                    ▼
 *   build(sets) → Ir ─► IR hash unchanged? ─ yes ─► skip
 *                    │ no
 *                    ▼
 *                apply(ir)   (compile + swap in every data plane)
 *
 * A change that arrives when no reconcile has started for longer than maxDelay runs at once, as
 * in Contour: the holdoff exists to fold bursts together, and an isolated change (an operator
 * saving a file, after the source's own debounce) is not part of one. Changes that follow within
 * maxDelay of a run wait for the holdoff as usual.
 * One reconcile runs at a time; changes that arrive during a run schedule another run after it.
 * A build or apply that throws leaves the last good configuration live and is reported through
 * `lastError` (shown on /ready and /diag). Timers are injected so tests never sleep.
 * (Contour internal/contour/handler.go, Traefik configurationwatcher.go.)
 */
import { createHash } from 'node:crypto';
import type { Ir } from '../ir/types.js';
import type { SourceSnapshot } from '../resources/types.js';
import { realTimers, type Timers } from '../util/timers.js';

export type { Timers } from '../util/timers.js';

export interface ReconcileStats {
  readonly builds: number;
  readonly skippedSameInput: number;
  readonly skippedSameIr: number;
  readonly applied: number;
  readonly failures: number;
  readonly lastBuildMs: number;
  readonly lastApplyMs: number;
}

export interface ReconcilerOptions {
  /** Names of the sources that must each publish once before anything is applied. */
  readonly requiredSources: readonly string[];
  readonly build: (sets: readonly SourceSnapshot[]) => Ir;
  readonly apply: (ir: Ir) => void | Promise<void>;
  readonly holdoffMs: number;
  readonly maxDelayMs: number;
  readonly timers?: Timers;
  /** Called after each reconcile attempt (applied, skipped or failed). */
  readonly onSettled?: (outcome: ReconcileOutcome) => void;
}

export type ReconcileOutcome =
  | { readonly kind: 'applied'; readonly ir: Ir; readonly buildMs: number; readonly applyMs: number }
  | { readonly kind: 'skipped'; readonly reason: 'same-input' | 'same-ir' }
  | { readonly kind: 'failed'; readonly error: unknown };

export class Reconciler {
  readonly #opts: ReconcilerOptions;
  readonly #timers: Timers;
  readonly #slots = new Map<string, SourceSnapshot>();
  #timer: unknown = null;
  #firstPendingAt = -1;
  /** When the last reconcile started (timers' clock); -Infinity before the first. */
  #lastRunAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | null = null;
  #dirty = false;
  #stopped = false;
  #lastInputHash = '';
  #lastIr: Ir | null = null;
  #lastError: unknown = null;
  #stats = {
    builds: 0,
    skippedSameInput: 0,
    skippedSameIr: 0,
    applied: 0,
    failures: 0,
    lastBuildMs: 0,
    lastApplyMs: 0,
  };

  constructor(opts: ReconcilerOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? realTimers;
  }

  /** The IR most recently applied, or null before the first. */
  get lastIr(): Ir | null {
    return this.#lastIr;
  }

  /** The error of the most recent failed reconcile; cleared by the next success. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** True once every required source has published at least once. */
  get synced(): boolean {
    for (let i = 0; i < this.#opts.requiredSources.length; i++) {
      if (!this.#slots.has(this.#opts.requiredSources[i]!)) return false;
    }
    return true;
  }

  get stats(): ReconcileStats {
    return { ...this.#stats };
  }

  /** Latest-wins: replaces this source's previous set and schedules a rebuild. */
  publish(snapshot: SourceSnapshot): void {
    if (this.#stopped) return;
    const firstSync = !this.#slots.has(snapshot.source);
    this.#slots.set(snapshot.source, snapshot);
    this.#dirty = true;
    if (!this.synced) return;
    // The very first complete view is applied at once: there is nothing to debounce against yet.
    if (firstSync && this.#lastIr === null && this.#running === null) {
      this.#cancelTimer();
      this.#kick();
      return;
    }
    this.#schedule();
  }

  /** Runs any pending reconcile now and waits for it (tests, shutdown). */
  async flush(): Promise<void> {
    this.#cancelTimer();
    while (this.#running || (this.#dirty && this.synced)) {
      if (!this.#running) this.#kick();
      await this.#running;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
  }

  #schedule(): void {
    const now = this.#timers.now();
    if (this.#firstPendingAt < 0) this.#firstPendingAt = now;
    const quiet = this.#running === null && now - this.#lastRunAt > this.#opts.maxDelayMs;
    const deadline = quiet
      ? now
      : Math.min(now + this.#opts.holdoffMs, this.#firstPendingAt + this.#opts.maxDelayMs);
    this.#cancelTimer();
    this.#timer = this.#timers.setTimeout(
      () => {
        this.#timer = null;
        this.#kick();
      },
      Math.max(0, deadline - now),
    );
  }

  #cancelTimer(): void {
    if (this.#timer !== null) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #kick(): void {
    if (this.#running || this.#stopped) return;
    this.#firstPendingAt = -1;
    this.#lastRunAt = this.#timers.now();
    this.#running = this.#runOnce().finally(() => {
      this.#running = null;
      if (this.#dirty && !this.#stopped) this.#schedule();
    });
  }

  async #runOnce(): Promise<void> {
    this.#dirty = false;
    const sets = [...this.#slots.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
    let outcome: ReconcileOutcome;
    try {
      const inputHash = hashInput(sets);
      if (inputHash === this.#lastInputHash && this.#lastIr !== null) {
        this.#stats.skippedSameInput++;
        outcome = { kind: 'skipped', reason: 'same-input' };
      } else {
        const t0 = performance.now();
        this.#stats.builds++;
        const ir = this.#opts.build(sets);
        const t1 = performance.now();
        if (this.#lastIr !== null && ir.hash === this.#lastIr.hash) {
          this.#lastInputHash = inputHash;
          this.#stats.skippedSameIr++;
          outcome = { kind: 'skipped', reason: 'same-ir' };
        } else {
          await this.#opts.apply(ir);
          const t2 = performance.now();
          this.#lastInputHash = inputHash;
          this.#lastIr = ir;
          this.#stats.applied++;
          this.#stats.lastBuildMs = t1 - t0;
          this.#stats.lastApplyMs = t2 - t1;
          outcome = { kind: 'applied', ir, buildMs: t1 - t0, applyMs: t2 - t1 };
        }
      }
      this.#lastError = null;
    } catch (error) {
      this.#stats.failures++;
      this.#lastError = error;
      outcome = { kind: 'failed', error };
    }
    this.#opts.onSettled?.(outcome);
  }
}

/**
 * Hash of the whole input: every source's objects and problems, in source-name order.
 *
 * A source that carries its texts (`SourceSnapshot.texts`, the file source) is hashed by them:
 * its objects are a deterministic parse of (source, file, text), so the texts decide the objects
 * exactly, and more: a change that leaves every object equal but moves a field (a comment line
 * added above it) changes the text, so the build runs again and the field lines shown for
 * problems follow. Objects whose file has no text (and every object of a source without texts,
 * such as the Kubernetes source) are hashed as JSON. Hashing 1.6 MB of text is about ten times
 * cheaper than stringifying the 10,000 objects parsed from it.
 */
export function hashInput(sets: readonly SourceSnapshot[]): string {
  const h = createHash('sha256');
  for (let i = 0; i < sets.length; i++) {
    const s = sets[i]!;
    // Length prefixes keep the boundaries unambiguous whatever the names and texts contain.
    h.update(`${s.source.length}:${s.source}`);
    const texts = s.texts;
    if (texts === undefined) {
      h.update(JSON.stringify(s.objects));
    } else {
      const files = Object.keys(texts).sort();
      h.update(`texts:${files.length}`);
      for (let f = 0; f < files.length; f++) {
        const file = files[f]!;
        const text = texts[file]!;
        h.update(`${file.length}:${file}${text.length}:`);
        h.update(text);
      }
      const uncovered: unknown[] = [];
      for (let o = 0; o < s.objects.length; o++) {
        const obj = s.objects[o]!;
        const file = obj.location.file;
        if (file === undefined || obj.location.source !== s.source || !Object.hasOwn(texts, file)) {
          uncovered.push(obj);
        }
      }
      h.update(`objects:${s.objects.length}:`);
      h.update(JSON.stringify(uncovered));
    }
    h.update(JSON.stringify(s.problems));
  }
  return h.digest('hex');
}
