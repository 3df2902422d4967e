/**
 * The Kubernetes API transport the source, the status writer and the leader elector share.
 *
 * `KubeClient` is the seam: JSON requests and watch streams, nothing else. The real one,
 * `KubeConfigClient`, takes addresses and credentials from client-node's `KubeConfig` (kubeconfig
 * files, in-cluster service account tokens, exec plugins; re-applied on every request so rotated
 * tokens are picked up) and speaks HTTP through one keep-alive undici Agent. client-node's own
 * `Watch` is not used: in 1.4 it has no working timeout and swallows callback exceptions; the
 * reflector needs the raw stream to run its own
 * inactivity watchdog.
 *
 * Every non-2xx answer becomes a `KubeApiError` carrying the HTTP status and the API's `Status`
 * reason, so callers branch on 403/404/409/410 without parsing messages.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import { GatewayError } from '../../errors/gateway-error.js';

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/api/v1/...` or `/apis/group/version/...`, without a query. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  /** Default `application/json`; PATCH usually wants `application/merge-patch+json`. */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  readonly object: Record<string, unknown>;
}

export interface KubeClient {
  /** One JSON request; resolves with the parsed body, throws `KubeApiError` on non-2xx. */
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /**
   * Opens a watch (`watch=true` is added). Resolves once the server answered 200, with the events
   * as they arrive; the iterable ends when the server closes the stream and throws when the
   * connection fails or `signal` aborts. A non-200 answer throws `KubeApiError` instead.
   */
  watch(req: {
    readonly path: string;
    readonly query: Readonly<Record<string, QueryValue>>;
    readonly signal: AbortSignal;
  }): Promise<AsyncIterable<WatchEvent>>;
}

/** A Kubernetes API answer other than 2xx (or a watch ERROR event), with the Status reason. */
export class KubeApiError extends GatewayError {
  readonly status: number;
  /** `Status.reason` (`Forbidden`, `NotFound`, `Expired`, `Conflict`…), or '' when absent. */
  readonly reason: string;

  constructor(status: number, reason: string, detail: string, where: string) {
    super('GW_ERR_KUBERNETES_API', { message: `${where}: ${status} ${reason || 'error'}: ${detail}` });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }

  /** From a `Status` object (HTTP error body or watch ERROR event). */
  static fromStatus(httpStatus: number, body: unknown, where: string): KubeApiError {
    const st = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const code = typeof st['code'] === 'number' ? (st['code'] as number) : httpStatus;
    const reason = typeof st['reason'] === 'string' ? (st['reason'] as string) : '';
    const message =
      typeof st['message'] === 'string'
        ? (st['message'] as string)
        : typeof body === 'string'
          ? body.slice(0, 200)
          : '';
    return new KubeApiError(code, reason, message, where);
  }
}

export function isKubeStatus(err: unknown, ...status: number[]): boolean {
  return err instanceof KubeApiError && status.includes(err.status);
}

export function buildQuery(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

interface TlsMaterial {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KubeConfigClientOptions {
  /** Deadline for non-watch requests (default 30 s). */
  readonly requestTimeoutMs?: number;
}

export class KubeConfigClient implements KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: string;
  readonly #timeoutMs: number;
  #agent: Agent | undefined;
  #agentKey = '';

  constructor(kc: KubeConfig, opts: KubeConfigClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new GatewayError('GW_ERR_BOOTSTRAP', { message: 'kubeconfig: no current cluster' });
    }
    this.#kc = kc;
    this.#server = cluster.server.replace(/\/+$/, '');
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /** Credentials and TLS material, re-read per request (token files and exec plugins rotate). */
  async #prepare(): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> {
    const opts: Record<string, unknown> & { headers?: Record<string, unknown> } = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    if (typeof opts['auth'] === 'string') {
      headers.authorization = `Basic ${Buffer.from(opts['auth']).toString('base64')}`;
    }
    const tls: TlsMaterial = {};
    for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) {
      if (opts[k] !== undefined) (tls as Record<string, unknown>)[k] = opts[k];
    }
    const key = JSON.stringify([
      String(tls.ca ?? ''),
      String(tls.cert ?? ''),
      String(tls.key ?? ''),
      tls.rejectUnauthorized,
      tls.servername,
    ]);
    if (!this.#agent || key !== this.#agentKey) {
      const old = this.#agent;
      this.#agent = new Agent({
        connect: { ...tls, timeout: 10_000 },
        keepAliveTimeout: 30_000,
        // Watches are long-lived; the reflector's own watchdog bounds silence instead.
        bodyTimeout: 0,
        headersTimeout: this.#timeoutMs,
      });
      this.#agentKey = key;
      void old?.close().catch(() => undefined);
    }
    return { headers, dispatcher: this.#agent };
  }

  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const { headers, dispatcher } = await this.#prepare();
    headers.accept = 'application/json';
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    const signals = [AbortSignal.timeout(this.#timeoutMs)];
    if (req.signal) signals.push(req.signal);
    const where = `${req.method} ${req.path}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(`${this.#server}${req.path}${buildQuery(req.query)}`, {
        method: req.method,
        headers,
        body,
        dispatcher,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throw new GatewayError('GW_ERR_KUBERNETES_API', {
        message: `${where}: ${(err as Error)?.message ?? String(err)}`,
        cause: err,
      });
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Left as text: error pages from proxies in front of the API server are not JSON.
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw KubeApiError.fromStatus(res.statusCode, parsed, where);
    }
    return parsed as T;
  }

  async watch(req: {
    readonly path: string;
    readonly query: Readonly<Record<string, QueryValue>>;
    readonly signal: AbortSignal;
  }): Promise<AsyncIterable<WatchEvent>> {
    const { headers, dispatcher } = await this.#prepare();
    headers.accept = 'application/json';
    const where = `WATCH ${req.path}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(`${this.#server}${req.path}${buildQuery({ ...req.query, watch: true })}`, {
        method: 'GET',
        headers,
        dispatcher,
        signal: req.signal,
      });
    } catch (err) {
      throw new GatewayError('GW_ERR_KUBERNETES_API', {
        message: `${where}: ${(err as Error)?.message ?? String(err)}`,
        cause: err,
      });
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      throw KubeApiError.fromStatus(res.statusCode, parsed, where);
    }
    return splitEvents(res.body);
  }

  /** Closes pooled connections (shutdown). */
  async close(): Promise<void> {
    await this.#agent?.close().catch(() => undefined);
    this.#agent = undefined;
  }
}

/** Newline-delimited JSON watch events from a byte stream. A line that does not parse is skipped. */
export async function* splitEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<WatchEvent> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line !== '') {
        const ev = parseEvent(line);
        if (ev) yield ev;
      }
      nl = pending.indexOf('\n');
    }
  }
  const rest = pending.trim();
  if (rest !== '') {
    const ev = parseEvent(rest);
    if (ev) yield ev;
  }
}

function parseEvent(line: string): WatchEvent | undefined {
  try {
    const v = JSON.parse(line) as { type?: unknown; object?: unknown };
    if (typeof v.type !== 'string' || typeof v.object !== 'object' || v.object === null) return undefined;
    return { type: v.type, object: v.object as Record<string, unknown> };
  } catch {
    return undefined;
  }
}
