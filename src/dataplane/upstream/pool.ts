/**
 * One keep-alive connection pool per upstream endpoint, over Legate's own HTTP/1.1 connections
 * (http1-connection.ts).
 *
 * Owned by a cluster's live state (clusters.ts); the exchange dispatches into it with a handler that
 * writes straight into the client's ServerResponse. Chosen by measurement: on one pinned core the
 * proxy path over undici's Pool spent most of its CPU in undici (per-request validation, a deferred
 * write on every reused connection, the wasm parser's callbacks); this pool keeps only what a proxy
 * needs (see bench/README.md for the figures).
 *
 * Connections: idle ones sit on a LIFO stack (the most recently used is reused first, so the
 * others age out); there is no limit on connections and so no queue: a request that finds no idle
 * connection opens one. An idle connection is retired at its idle deadline (`idle_timeout_ms` of the
 * cluster, else `DEFAULT_UPSTREAM_IDLE_MS`, shortened by an upstream `Keep-Alive: timeout` hint), at
 * `max_connection_lifetime_ms`, or when the upstream closes it; one shared unref'd sweeper does the
 * retiring for every pool, and a pop from the stack skips any connection already past its deadline.
 *
 * TLS (`https://` services): ALPN `http/1.1`, SNI when the cluster's host is a name, the latest
 * session offered for resumption on the next connection.
 *
 * Timeouts: `connect_timeout_ms` is the pool's; request, idle and response-head timeouts are the
 * exchange's (timeouts.ts) and reach the connection through the handler's `abort`.
 *
 * Response head limit: `max_response_headers_kb` (gateway-wide, from the Module) is the parser's
 * head limit (status line and fields together), so an oversized head fails the request with
 * `UPSTREAM_HEAD_TOO_LARGE` (errors.ts → 502) and that one connection closes.
 *
 * `close()` is graceful: no new requests; idle connections close now, busy ones after their response.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { IrCluster, IrEndpoint, IrSettings } from '../../ir/types.js';
import {
  type ConnectionOwner,
  UpstreamConnection,
  type UpstreamHandler,
  type UpstreamRequest,
  UpstreamSocketError,
} from './http1-connection.js';

export type { UpstreamHandler, UpstreamRequest } from './http1-connection.js';

/** Upstream keep-alive idle time when the cluster sets none. Envoy's default is 1 h; a shorter
 * default avoids reusing connections that middleboxes and upstream servers have long dropped. */
export const DEFAULT_UPSTREAM_IDLE_MS = 60_000;

export function endpointKey(e: IrEndpoint): string {
  return e.address.indexOf(':') === -1 ? `${e.address}:${e.port}` : `[${e.address}]:${e.port}`;
}

/** Response head limit when no settings are known yet (the Module default). */
export const DEFAULT_MAX_RESPONSE_HEADERS_KB = 60;

/** The gateway-wide settings that shape every pool; taken from the snapshot's `IrSettings`. */
export interface PoolSettings {
  /** Upstream response head limit in KiB (≥ 1). */
  readonly maxResponseHeadersKb: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = { maxResponseHeadersKb: DEFAULT_MAX_RESPONSE_HEADERS_KB };

/** The pool-shaping part of a snapshot's settings; returns `prev` when nothing relevant changed. */
export function poolSettingsOf(settings: IrSettings, prev: PoolSettings): PoolSettings {
  const kb =
    settings.maxResponseHeadersKb > 0 ? settings.maxResponseHeadersKb : DEFAULT_MAX_RESPONSE_HEADERS_KB;
  return kb === prev.maxResponseHeadersKb ? prev : { maxResponseHeadersKb: kb };
}

/** Settings of a cluster that shape its pools; when any changes, the pools are rebuilt. */
export function poolShape(c: IrCluster, s: PoolSettings): string {
  return `${c.scheme}|${c.connectTimeoutMs}|${c.idleTimeoutMs}|${c.maxConnectionLifetimeMs}|${c.authority}|${s.maxResponseHeadersKb}`;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.indexOf(':') !== -1;
}

/** Margin taken off an upstream's `Keep-Alive: timeout` hint, so Legate retires first. */
const HINT_MARGIN_MS = 1000;
/** Idle time before the first TCP keep-alive probe on an upstream connection. */
const TCP_KEEPALIVE_MS = 60_000;
/** How often idle connections are checked against their deadlines. */
const SWEEP_MS = 1000;

/** Pools that hold idle connections; swept together by one interval. */
const sweepSet = new Set<EndpointPool>();
let sweeper: NodeJS.Timeout | null = null;

function watchIdle(pool: EndpointPool): void {
  sweepSet.add(pool);
  if (sweeper === null) {
    sweeper = setInterval(sweepAll, SWEEP_MS);
    sweeper.unref();
  }
}

function sweepAll(): void {
  const now = performance.now();
  for (const pool of sweepSet) {
    if (pool.sweep(now) === 0) sweepSet.delete(pool);
  }
  if (sweepSet.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

export class EndpointPool implements ConnectionOwner {
  readonly key: string;
  /** Largest upstream response head this pool accepts. */
  readonly maxHeaderBytes: number;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: boolean;
  readonly #servername: string | null;
  readonly #connectTimeoutMs: number;
  readonly #idleMs: number;
  readonly #lifetimeMs: number;
  /** Idle connections, most recently used last. */
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  readonly #connecting = new Set<Socket>();
  #running = 0;
  #closing = false;
  #tlsSession: Buffer | null = null;
  #closeWaiters: (() => void)[] = [];

  constructor(opts: {
    readonly cluster: IrCluster;
    readonly endpoint: IrEndpoint;
    readonly settings?: PoolSettings;
  }) {
    const { cluster, endpoint } = opts;
    const settings = opts.settings ?? DEFAULT_POOL_SETTINGS;
    this.key = endpointKey(endpoint);
    this.maxHeaderBytes = settings.maxResponseHeadersKb * 1024;
    this.#host = endpoint.address;
    this.#port = endpoint.port;
    this.#tls = cluster.scheme === 'https';
    const authorityHost = cluster.authority.replace(/:\d+$/, '');
    this.#servername = this.#tls && !isIp(authorityHost) ? authorityHost : null;
    this.#connectTimeoutMs = cluster.connectTimeoutMs > 0 ? cluster.connectTimeoutMs : 3000;
    this.#idleMs = cluster.idleTimeoutMs > 0 ? cluster.idleTimeoutMs : DEFAULT_UPSTREAM_IDLE_MS;
    this.#lifetimeMs = Math.max(cluster.maxConnectionLifetimeMs, 0);
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Sends `req`; the handler hears the outcome. False when the pool is closing (the handler
   * has then been told with `onError`). */
  dispatch(req: UpstreamRequest, handler: UpstreamHandler): boolean {
    if (this.#closing) {
      handler.onError(new UpstreamSocketError('upstream pool is closed', 'UPSTREAM_POOL_CLOSED'));
      return false;
    }
    const idle = this.#idle;
    if (idle.length > 0) {
      const now = performance.now();
      let conn = idle.pop();
      while (conn !== undefined && (conn.idleUntil <= now || conn.isClosed)) {
        conn.destroy();
        conn = idle.pop();
      }
      if (conn !== undefined) {
        this.#running++;
        conn.start(req, handler);
        return true;
      }
    }
    this.#open(req, handler);
    return true;
  }

  /** ConnectionOwner: a stale reused connection failed before any response; use a fresh one. */
  retry(req: UpstreamRequest, handler: UpstreamHandler): void {
    this.#running--;
    if (this.#closing) {
      handler.onError(new UpstreamSocketError('upstream pool is closed', 'UPSTREAM_POOL_CLOSED'));
      this.#maybeClosed();
      return;
    }
    this.#open(req, handler);
  }

  #open(req: UpstreamRequest, handler: UpstreamHandler): void {
    const socket: Socket = this.#tls
      ? tlsConnect({
          host: this.#host,
          port: this.#port,
          // Emissary originates TLS without verifying the upstream unless a TLSContext says so.
          // TODO(#2): verify upstream certificates once TLSContext reaches the IR.
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
          ...(this.#servername !== null ? { servername: this.#servername } : {}),
          ...(this.#tlsSession !== null ? { session: this.#tlsSession } : {}),
        })
      : netConnect({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    // The latest TLS session resumes the next handshake to this endpoint (abbreviated handshake).
    if (this.#tls) socket.on('session', (session: Buffer) => (this.#tlsSession = session));
    // TCP keep-alive probes find a peer that vanished while a long response was quiet.
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    this.#connecting.add(socket);
    let settled = false;
    const timer = setTimeout(() => {
      socket.destroy(new UpstreamSocketError('upstream connect timeout', 'UPSTREAM_CONNECT_TIMEOUT'));
    }, this.#connectTimeoutMs);
    const onFail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting.delete(socket);
      socket.destroy();
      handler.onError(err);
      this.#maybeClosed();
    };
    const onEarlyClose = (): void =>
      onFail(new UpstreamSocketError('upstream connection closed while connecting', 'UPSTREAM_CLOSED'));
    socket.once('error', onFail);
    socket.once('close', onEarlyClose);
    socket.once(this.#tls ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting.delete(socket);
      socket.removeListener('error', onFail);
      socket.removeListener('close', onEarlyClose);
      const conn = new UpstreamConnection(socket, this, this.maxHeaderBytes);
      this.#all.add(conn);
      this.#running++;
      conn.start(req, handler);
    });
  }

  /** ConnectionOwner: the response is complete. */
  release(conn: UpstreamConnection, reusable: boolean): void {
    this.#running--;
    const now = performance.now();
    if (!reusable || this.#closing || (this.#lifetimeMs > 0 && now - conn.createdAt >= this.#lifetimeMs)) {
      conn.destroy();
      this.#maybeClosed();
      return;
    }
    let idleMs = this.#idleMs;
    const hint = conn.keepAliveHintMs;
    if (hint > 0 && hint - HINT_MARGIN_MS < idleMs) idleMs = hint - HINT_MARGIN_MS;
    if (idleMs <= 0) {
      conn.destroy();
      return;
    }
    conn.idleUntil = now + idleMs;
    this.#idle.push(conn);
    if (this.#idle.length === 1) watchIdle(this);
  }

  /** ConnectionOwner: the socket closed. */
  closed(conn: UpstreamConnection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    this.#maybeClosed();
  }

  /** Retires idle connections past their deadline; returns how many stay idle. */
  sweep(now: number): number {
    const idle = this.#idle;
    // Oldest first: the stack's bottom was released longest ago, but hints differ, so scan all.
    for (let i = idle.length - 1; i >= 0; i--) {
      if (idle[i].idleUntil <= now) {
        const conn = idle[i];
        idle.splice(i, 1);
        conn.destroy();
      }
    }
    return idle.length;
  }

  #maybeClosed(): void {
    if (!this.#closing || this.#running > 0 || this.#connecting.size > 0) return;
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
  }

  /** Graceful: in-flight requests finish, then connections close. Idempotent. */
  close(): Promise<void> {
    this.#closing = true;
    const idle = this.#idle.splice(0);
    for (const conn of idle) conn.destroy();
    if (this.#running === 0 && this.#connecting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** Immediate: running requests fail. For shutdown after the drain deadline. */
  destroy(): Promise<void> {
    this.#closing = true;
    this.#idle.length = 0;
    for (const socket of this.#connecting) {
      socket.destroy(new UpstreamSocketError('upstream pool destroyed', 'UPSTREAM_DESTROYED'));
    }
    for (const conn of this.#all) conn.destroy();
    this.#maybeClosed();
    return Promise.resolve();
  }

  get stats(): { readonly connected: number; readonly running: number; readonly pending: number } {
    let connected = 0;
    for (const conn of this.#all) if (!conn.isClosed) connected++;
    return { connected, running: this.#running, pending: this.#connecting.size };
  }
}
