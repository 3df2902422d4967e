/**
 * A list+watch reflector for one kind (in one namespace, or cluster-wide): keeps a store of the
 * objects as the API server has them, keyed `namespace/name`. Owned by `KubernetesSource`, which
 * reads the stores and publishes the whole set.
 *
 * State machine (never stops until its signal aborts):
 *
 *   LIST (paged, `limit`+`continue`; all pages share one RV) ─► replace the store atomically
 *     │  404 on every candidate version (optional kind) ─► NotInstalled: empty, re-check later
 *     │  403 ─► Forbidden: reported; empty if never listed, else last objects kept; retry w/ backoff
 *     │  other error ─► backoff, LIST again
 *     ▼
 *   WATCH from the RV (`allowWatchBookmarks`, jittered server `timeoutSeconds`, inactivity watchdog)
 *     │  event ─► store + RV (bookmarks move the RV only)
 *     │  ERROR 410 (in-stream) or HTTP 410 ─► LIST (relist)
 *     │  clean end (server timeout) ─► WATCH again from the RV
 *     │  silence longer than `inactivityMs` (half-open connection) ─► abort, WATCH again from the RV
 *     │  other error / connection dropped ─► backoff, WATCH again from the RV
 *     ▼
 *   the backoff resets after a watch stayed up for `healthyAfterMs`.
 *
 * Invariants:
 * - `synced` becomes true once: after the first successful list, or when the kind is settled as
 *   Forbidden/NotInstalled (treated as empty so the other kinds serve; the failure is reported).
 * - Objects are stored as the API returns them, with `apiVersion`/`kind` filled in (list items lack
 *   them) and `metadata.managedFields` dropped (server bookkeeping, large, never read).
 * - `onChange` fires only when something that matters changed: a change to `status`,
 *   `metadata.resourceVersion` alone (our own status writes) updates the store silently.
 * - `onChange` and `onHealth` callbacks are caught: a throwing handler cannot stop the loop.
 */
import { Backoff, type BackoffOptions, realTimers, sleep, type Timers } from './backoff.js';
import { isKubeStatus, KubeApiError, type KubeClient } from './client.js';
import { apiVersionOf, collectionPath, type KindSpec } from './kinds.js';

export type KubeObject = Record<string, unknown> & {
  metadata?: Record<string, unknown>;
};

export const ReflectorState = {
  /** Not listed yet. */
  Pending: 'Pending',
  /** Listed and watching (or about to re-watch). */
  Synced: 'Synced',
  /** The API server denies list or watch (RBAC). */
  Forbidden: 'Forbidden',
  /** The kind is not served (CRD not installed). */
  NotInstalled: 'NotInstalled',
  /** Transient failure (connection refused, 5xx…); retrying with backoff. */
  Retrying: 'Retrying',
} as const;
export type ReflectorState = (typeof ReflectorState)[keyof typeof ReflectorState];

export interface ReflectorHealth {
  readonly state: ReflectorState;
  /** Human-readable detail of the last failure; '' when healthy. */
  readonly message: string;
  /** The version in use (or last tried). */
  readonly version: string;
}

export type ReflectorLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object) => void;

export interface ReflectorOptions {
  readonly client: KubeClient;
  readonly kind: KindSpec;
  /** Namespace to watch; undefined = all (or the kind is cluster-scoped). */
  readonly namespace?: string;
  readonly onChange: () => void;
  readonly onHealth?: (health: ReflectorHealth) => void;
  readonly log?: ReflectorLog;
  readonly timers?: Timers;
  /** Random source in [0, 1) for jitter (tests fix it). */
  readonly random?: () => number;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
  /** Server-side watch timeout, drawn uniformly from [min, max] seconds (default 300–600). */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Abort a watch that delivered nothing (not even a bookmark) for this long (default 150 s). */
  readonly inactivityMs?: number;
  /** A watch that stayed up this long resets the backoff (default 30 s). */
  readonly healthyAfterMs?: number;
  /** How often a not-installed kind is looked for again (default 60 s). */
  readonly recheckMs?: number;
  readonly backoff?: BackoffOptions;
}

/** Thrown into a watch that went quiet for too long. */
class InactivityTimeout extends Error {
  constructor(ms: number) {
    super(`no watch event or bookmark for ${ms} ms`);
  }
}

/** Restart paging from the beginning at most this many times when a continue token expires. */
const kMaxListRestarts = 3;

export class Reflector {
  readonly kind: KindSpec;
  readonly namespace: string | undefined;
  /** `namespace/name` (or `name` for cluster-scoped kinds) → object. Replaced, never mutated in place. */
  store: ReadonlyMap<string, KubeObject> = new Map();
  readonly #o: ReflectorOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  #version: string;
  #rv = '';
  #synced = false;
  #syncedWaiters: (() => void)[] = [];
  #health: ReflectorHealth;
  /** Counters for tests and diagnostics. */
  readonly stats = { lists: 0, watches: 0, relists410: 0, inactivityAborts: 0, errors: 0 };

  constructor(opts: ReflectorOptions) {
    this.#o = opts;
    this.kind = opts.kind;
    this.namespace = opts.kind.namespaced ? opts.namespace : undefined;
    this.#timers = opts.timers ?? realTimers;
    this.#random = opts.random ?? Math.random;
    this.#backoff = new Backoff({ random: this.#random, ...opts.backoff });
    this.#version = opts.kind.versions[0]!;
    this.#health = { state: ReflectorState.Pending, message: '', version: this.#version };
  }

  /** Human name for logs and problems: `mappings.getambassador.io/v3alpha1 in ns`. */
  get label(): string {
    const group = this.kind.group === '' ? '' : `.${this.kind.group}`;
    const where = this.namespace ? ` in namespace ${this.namespace}` : '';
    return `${this.kind.resource}${group}/${this.#version}${where}`;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get health(): ReflectorHealth {
    return this.#health;
  }

  /** The resourceVersion the next watch would start from ('' = relist). */
  get resourceVersion(): string {
    return this.#rv;
  }

  get apiVersion(): string {
    return apiVersionOf(this.kind, this.#version);
  }

  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  /** Runs until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.#rv === '') {
          await this.#listStep(signal);
          continue;
        }
        await this.#watchStep(signal);
      } catch (err) {
        // Only programming errors get here; keep the loop alive and slow.
        this.stats.errors++;
        this.#log('error', 'reflector loop error', { err });
        await sleep(this.#timers, this.#backoff.next(), signal);
      }
    }
  }

  async #listStep(signal: AbortSignal): Promise<void> {
    const versions = this.kind.versions;
    let lastErr: unknown;
    // Try the preferred version first; a 404 moves to the next (a CRD serving only v2).
    const start = Math.max(0, versions.indexOf(this.#version));
    const order = [...versions.slice(start), ...versions.slice(0, start)];
    for (const version of order) {
      try {
        const { items, rv } = await this.#list(version, signal);
        this.#version = version;
        this.#replace(items);
        this.#rv = rv;
        this.stats.lists++;
        this.#setHealth(ReflectorState.Synced, '');
        this.#markSynced();
        return;
      } catch (err) {
        if (signal.aborted) return;
        lastErr = err;
        if (!isKubeStatus(err, 404)) break;
      }
    }
    this.stats.errors++;
    if (isKubeStatus(lastErr, 404) && this.kind.optional) {
      this.#version = order[0]!;
      const hadObjects = this.store.size > 0;
      this.store = new Map();
      this.#setHealth(
        ReflectorState.NotInstalled,
        `${this.kind.kind} (${this.kind.resource}.${this.kind.group}) is not served by the API server: CRD not installed; treated as empty`,
      );
      this.#markSynced();
      if (hadObjects) this.#notify();
      await sleep(this.#timers, this.#o.recheckMs ?? 60_000, signal);
      return;
    }
    if (isKubeStatus(lastErr, 403, 401)) {
      this.#setHealth(ReflectorState.Forbidden, `${this.label}: ${(lastErr as Error).message}`);
      // Never listed: serve the other kinds, this one as empty. Listed before: keep the last objects.
      this.#markSynced();
    } else {
      this.#setHealth(ReflectorState.Retrying, `${this.label}: ${errText(lastErr)}`);
    }
    await sleep(this.#timers, this.#backoff.next(), signal);
  }

  /** All pages of one consistent list. */
  async #list(version: string, signal: AbortSignal): Promise<{ items: KubeObject[]; rv: string }> {
    const path = collectionPath(this.kind, version, this.namespace);
    let restarts = 0;
    for (;;) {
      const items: KubeObject[] = [];
      let cont: string | undefined;
      try {
        let rv = '';
        do {
          const page = await this.#o.client.request<{
            metadata?: { resourceVersion?: string; continue?: string };
            items?: KubeObject[];
          }>({
            method: 'GET',
            path,
            query: {
              limit: this.#o.pageSize ?? 500,
              continue: cont,
              labelSelector: this.kind.labelSelector,
              fieldSelector: this.kind.fieldSelector,
            },
            signal,
          });
          for (const item of page?.items ?? []) items.push(this.#prepare(item, version));
          rv = page?.metadata?.resourceVersion ?? '';
          cont = page?.metadata?.continue || undefined;
        } while (cont);
        if (rv === '') throw new Error(`list of ${path} carried no resourceVersion`);
        return { items, rv };
      } catch (err) {
        // An expired continue token: the consistent snapshot is gone, start the list over.
        if (cont && isKubeStatus(err, 410) && restarts++ < kMaxListRestarts) continue;
        throw err;
      }
    }
  }

  async #watchStep(signal: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const inactivityMs = this.#o.inactivityMs ?? 150_000;
    let timer: unknown = null;
    const arm = (): void => {
      if (timer !== null) this.#timers.clearTimeout(timer);
      timer = this.#timers.setTimeout(() => ac.abort(new InactivityTimeout(inactivityMs)), inactivityMs);
    };
    const [tMin, tMax] = this.#o.watchTimeoutSeconds ?? [300, 600];
    const started = this.#timers.now();
    let events = 0;
    try {
      arm();
      const stream = await this.#o.client.watch({
        path: collectionPath(this.kind, this.#version, this.namespace),
        query: {
          resourceVersion: this.#rv,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.round(tMin + (tMax - tMin) * this.#random()),
          labelSelector: this.kind.labelSelector,
          fieldSelector: this.kind.fieldSelector,
        },
        signal: ac.signal,
      });
      this.stats.watches++;
      if (this.#health.state !== ReflectorState.Synced) this.#setHealth(ReflectorState.Synced, '');
      arm();
      for await (const ev of stream) {
        arm();
        events++;
        if (ev.type === 'ERROR') {
          const err = KubeApiError.fromStatus(500, ev.object, `WATCH ${this.label}`);
          if (err.status === 410) {
            this.#expired();
            return;
          }
          throw err;
        }
        this.#apply(ev.type, ev.object);
      }
      // Clean end: the server's timeoutSeconds (or an API server shutting down). Re-watch from the
      // RV; a stream that ends at once without events counts as a failure so it cannot spin.
      const lasted = this.#timers.now() - started;
      if (lasted >= (this.#o.healthyAfterMs ?? 30_000)) this.#backoff.reset();
      if (events === 0 && lasted < 1000) await sleep(this.#timers, this.#backoff.next(), signal);
    } catch (err) {
      if (signal.aborted) return;
      if (ac.signal.aborted && ac.signal.reason instanceof InactivityTimeout) {
        this.stats.inactivityAborts++;
        this.#log('warn', 'watch went quiet; reconnecting', { watch: this.label, ms: inactivityMs });
        return;
      }
      if (isKubeStatus(err, 410)) {
        this.#expired();
        return;
      }
      this.stats.errors++;
      const lasted = this.#timers.now() - started;
      if (lasted >= (this.#o.healthyAfterMs ?? 30_000)) this.#backoff.reset();
      if (isKubeStatus(err, 403, 401)) {
        this.#setHealth(ReflectorState.Forbidden, `${this.label}: ${errText(err)}`);
      } else {
        this.#setHealth(ReflectorState.Retrying, `${this.label}: ${errText(err)}`);
      }
      this.#log('warn', 'watch failed; retrying', { watch: this.label, err: errText(err) });
      await sleep(this.#timers, this.#backoff.next(), signal);
    } finally {
      if (timer !== null) this.#timers.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      ac.abort();
    }
  }

  #expired(): void {
    this.stats.relists410++;
    this.#log('info', 'watch expired (410); relisting', { watch: this.label });
    this.#rv = '';
  }

  #apply(type: string, raw: Record<string, unknown>): void {
    const meta = raw['metadata'] as Record<string, unknown> | undefined;
    const rv = typeof meta?.['resourceVersion'] === 'string' ? (meta['resourceVersion'] as string) : '';
    if (type === 'BOOKMARK') {
      if (rv) this.#rv = rv;
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
    const obj = this.#prepare(raw, this.#version);
    const key = keyOf(obj);
    const prev = this.store.get(key);
    const next = new Map(this.store);
    if (type === 'DELETED') next.delete(key);
    else next.set(key, obj);
    this.store = next;
    if (rv) this.#rv = rv;
    const matters = type === 'DELETED' ? prev !== undefined : !prev || fingerprint(prev) !== fingerprint(obj);
    if (matters) this.#notify();
  }

  /** Atomically replaces the store with a fresh list; notifies when anything differs. */
  #replace(items: readonly KubeObject[]): void {
    const next = new Map<string, KubeObject>();
    for (const item of items) next.set(keyOf(item), item);
    let changed = next.size !== this.store.size;
    if (!changed) {
      for (const [k, v] of next) {
        const prev = this.store.get(k);
        if (!prev || fingerprint(prev) !== fingerprint(v)) {
          changed = true;
          break;
        }
      }
    }
    this.store = next;
    if (changed) this.#notify();
  }

  #prepare(raw: KubeObject, version: string): KubeObject {
    const meta = (raw.metadata ?? {}) as Record<string, unknown>;
    const { managedFields: _drop, ...metadata } = meta;
    return {
      apiVersion: apiVersionOf(this.kind, version),
      kind: this.kind.kind,
      ...raw,
      metadata,
    };
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncedWaiters.splice(0)) w();
  }

  #setHealth(state: ReflectorState, message: string): void {
    const prev = this.#health;
    this.#health = { state, message, version: this.#version };
    if (prev.state === state && prev.message === message) return;
    if (state !== ReflectorState.Synced && state !== ReflectorState.Pending) {
      this.#log(state === ReflectorState.Retrying ? 'warn' : 'error', message, { watch: this.label, state });
    }
    try {
      this.#o.onHealth?.(this.#health);
    } catch (err) {
      this.#log('error', 'health handler threw', { err });
    }
  }

  #notify(): void {
    try {
      this.#o.onChange();
    } catch (err) {
      this.#log('error', 'change handler threw', { err });
    }
  }

  #log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object): void {
    this.#o.log?.(level, msg, fields);
  }
}

export function keyOf(obj: KubeObject): string {
  const meta = obj.metadata ?? {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  return ns ? `${ns}/${name}` : name;
}

/** The object without what changes on status writes alone (status, resourceVersion). */
function fingerprint(obj: KubeObject): string {
  const { status: _s, metadata, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = (metadata ?? {}) as Record<string, unknown>;
  return JSON.stringify([rest, meta]);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
