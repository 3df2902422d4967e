/**
 * Test doubles for the Kubernetes source's unit tests: a manual clock and a scripted `KubeClient`
 * whose watch streams the test drives event by event (bookmarks, in-stream 410s, drops, silence).
 * The real API server is exercised in test/k8s; these exist for fault sequences a real server
 * cannot be made to produce on cue.
 */
import {
  KubeApiError,
  type KubeClient,
  type KubeRequest,
  type QueryValue,
  type WatchEvent,
} from './client.js';

export { FakeTimers, settle } from '../../util/fake-timers.js';

/** A watch stream the test feeds. */
export class FakeWatch implements AsyncIterable<WatchEvent> {
  readonly query: Readonly<Record<string, QueryValue>>;
  readonly path: string;
  readonly #queue: (WatchEvent | { end: true } | { error: unknown })[] = [];
  #wake: (() => void) | null = null;
  #signal: AbortSignal;
  closed = false;

  constructor(path: string, query: Readonly<Record<string, QueryValue>>, signal: AbortSignal) {
    this.path = path;
    this.query = query;
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#kick(), { once: true });
  }
  push(type: WatchEvent['type'], object: Record<string, unknown>): void {
    this.#queue.push({ type, object });
    this.#kick();
  }
  end(): void {
    this.#queue.push({ end: true });
    this.#kick();
  }
  fail(error: unknown): void {
    this.#queue.push({ error });
    this.#kick();
  }
  #kick(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    try {
      for (;;) {
        if (this.#signal.aborted) throw this.#signal.reason ?? new Error('aborted');
        const next = this.#queue.shift();
        if (!next) {
          await new Promise<void>((r) => {
            this.#wake = r;
          });
          continue;
        }
        if ('end' in next) return;
        if ('error' in next) throw next.error;
        yield next;
      }
    } finally {
      this.closed = true;
    }
  }
}

export interface ListPage {
  readonly items: Record<string, unknown>[];
  readonly rv: string;
  readonly continue?: string;
}

/**
 * Scripted client: `list` answers list requests (return a page or throw), `watchOpen` decides
 * whether a watch opens (throw to refuse it). Every opened watch is kept in `watches`.
 */
export class FakeClient implements KubeClient {
  readonly requests: KubeRequest[] = [];
  readonly watches: FakeWatch[] = [];
  list: (req: KubeRequest) => ListPage = () => ({ items: [], rv: '1' });
  watchOpen: (path: string, query: Readonly<Record<string, QueryValue>>) => void = () => undefined;
  write: (req: KubeRequest) => unknown = () => ({});
  /** When set, answers every request (object reads, Lease calls) instead of `list`/`write`. */
  handler: ((req: KubeRequest) => unknown) | null = null;

  async request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(req);
    if (this.handler) return this.handler(req) as T;
    if (req.method !== 'GET') return this.write(req) as T;
    const page = this.list(req);
    return {
      metadata: { resourceVersion: page.rv, ...(page.continue ? { continue: page.continue } : {}) },
      items: page.items,
    } as T;
  }

  async watch(req: {
    readonly path: string;
    readonly query: Readonly<Record<string, QueryValue>>;
    readonly signal: AbortSignal;
  }): Promise<AsyncIterable<WatchEvent>> {
    this.watchOpen(req.path, req.query);
    const w = new FakeWatch(req.path, req.query, req.signal);
    this.watches.push(w);
    return w;
  }

  get lastWatch(): FakeWatch | undefined {
    return this.watches[this.watches.length - 1];
  }

  get listCount(): number {
    return this.requests.filter((r) => r.method === 'GET').length;
  }
}

export function statusError(code: number, reason: string, message = reason): KubeApiError {
  return KubeApiError.fromStatus(code, { kind: 'Status', code, reason, message }, 'test');
}

/** A Service-like object as list items carry it (no apiVersion/kind). */
export function obj(
  ns: string,
  name: string,
  rv: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { metadata: { namespace: ns, name, resourceVersion: rv, uid: `uid-${ns}-${name}` }, ...extra };
}
