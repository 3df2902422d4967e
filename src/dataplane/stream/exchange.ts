/**
 * The per-request pipeline for HTTP/1.1 (Envoy's filter manager + router, reduced to what the
 * gateway core needs): read the snapshot once, build the match request, route, then redirect,
 * reply locally, or proxy.
 *
 * Called by the listener (`createStreamHandler` is its request handler). One `Exchange` object per
 * request plays every role the request needs, so a proxied request allocates one object of ours
 * plus its header array and dispatch options:
 *   - the `MatchRequest` handed to the route table,
 *   - the `RequestHeadInput` for the header transforms,
 *   - the `TimedEntry` on the coarse timer,
 *   - the listener's `ResponseCloseHook` (the response closing before the exchange finished means
 *     the client went away),
 *   - the upstream handler (`UpstreamHandler`, upstream/http1-connection.ts) that writes the
 *     upstream response straight into the ServerResponse, with backpressure (a `false` from
 *     `res.write` pauses the upstream; `drain` resumes it). The request body is handed to the
 *     upstream connection as a stream, which applies backpressure the other way.
 *
 * Edge limits, in `run` before routing: a request target longer than `maxRequestUrlBytes` → 414,
 * more header fields than `maxRequestHeadersCount` → 431 (node's parser has already bounded the
 * head's size). After the target is picked, its body limit: a Content-Length over it → 413 before
 * any upstream contact; a chunked body is counted as it streams (`BodyLimiter`) and crossing the
 * limit → 413 if no response head went out yet, else the client connection is cut; the upstream
 * request is aborted either way. These replies close the connection: what follows on it is a
 * request we did not read. The upstream's body is held to `max_response_body_bytes` the same way: a
 * Content-Length over it → 502 before the head goes out, a body crossing it → the client connection
 * is cut (`responseTooLarge`).
 *
 * Invariants:
 * - `store.current` is read exactly once, in `run`; everything after uses `this.snap`.
 * - `done` flips once; after it, no callback writes to the client and the cluster's in-flight
 *   count has been released exactly once (`finish`).
 * - Before the response head is sent, every failure becomes a local reply; after it, the client
 *   connection is destroyed so the client sees the truncation (never a clean end).
 * - The client going away aborts the upstream request.
 * Fields are all assigned in the constructor with their final types (convention 6).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../../errors/codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { IrSettings } from '../../ir/types.js';
import type {
  CompiledHeaderAdd,
  CompiledRoute,
  CompiledTarget,
  MatchRequest,
  Snapshot,
} from '../../snapshot/types.js';
import type { RequestHandler, ResponseCloseHook } from '../listeners/http1.js';
import type { DataPlaneStats } from '../stats.js';
import type { ClusterRegistry, ClusterState } from '../upstream/clusters.js';
import { classifyUpstreamError } from '../upstream/errors.js';
import type { UpstreamHandler } from '../upstream/http1-connection.js';
import type { ShadowSender } from '../upstream/shadow.js';
import { type CoarseTimer, DEFAULT_BACKSTOP_MS, type TimedEntry, TimeoutKind } from '../upstream/timeouts.js';
import { BodyLimiter, type BodyLimitSink } from './body-limit.js';
import { buildRequestHead, buildResponseHead, type RequestHeadInput } from './headers.js';
import { abortResponse, sendLocalReply } from './local-reply.js';
import { hostOf, normalizeRequestPath, splitTarget } from './path.js';
import { refuseAmbiguousFraming } from './request-checks.js';

/** Where the stream reads the live snapshot; `SnapshotStore` satisfies it. */
export interface SnapshotSource {
  readonly current: Snapshot | null;
}

export interface StreamContext {
  readonly store: SnapshotSource;
  readonly clusters: ClusterRegistry;
  readonly stats: DataPlaneStats;
  readonly timer: CoarseTimer;
  /** Uniform in [0, 1); one draw per canary request. */
  readonly random: () => number;
  /** How clients reach this listener. */
  readonly scheme: 'http' | 'https';
  readonly shadow: ShadowSender | null;
  /** Called with upstream failures, for logging; not on the success path. */
  readonly onUpstreamError: ((err: unknown, routeId: string) => void) | null;
  /** Handed the settings of the snapshot each request reads (the data plane applies listener
   * limits from them; it skips an unchanged object by identity). */
  readonly onSettings?: (settings: IrSettings) => void;
}

const NOT_READY_MESSAGE = 'no configuration loaded yet';

function peerOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && a.indexOf('.') !== -1 ? a.slice(7) : a;
}

export class Exchange
  implements MatchRequest, RequestHeadInput, TimedEntry, ResponseCloseHook, BodyLimitSink, UpstreamHandler
{
  readonly ctx: StreamContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  // MatchRequest
  method: string;
  host: string;
  authority: string;
  path: string;
  query: string;
  readonly headers: IncomingHttpHeaders;
  // RequestHeadInput
  readonly peerAddress: string;
  readonly scheme: string;
  upstreamHost: string;
  originalPath: string | null;
  removes: readonly string[] | null;
  adds: readonly CompiledHeaderAdd[] | null;
  // TimedEntry
  timerSlot: number;
  deadlineAt: number;
  headDeadlineAt: number;
  idleMs: number;
  lastActivityAt: number;
  // exchange state
  snap: Snapshot | null;
  route: CompiledRoute | null;
  target: CompiledTarget | null;
  cluster: ClusterState | null;
  /** The connection's abort for this request once it is on one (idempotent), else null. */
  abortUpstream: ((err?: Error) => void) | null;
  /** The connection's resume after `onData` returned false. */
  resumeUpstream: (() => void) | null;
  connected: boolean;
  /** A first response byte arrived; classifies resets before it. */
  responseStarted: boolean;
  headSent: boolean;
  done: boolean;
  drainHooked: boolean;
  /** Some of the response body went to the client (the head went with it). */
  bodyWritten: boolean;
  /** Response body bytes still allowed by `max_response_body_bytes`; -1 when unlimited. */
  responseBytesLeft: number;
  bytesReadMark: number;

  constructor(ctx: StreamContext, res: ServerResponse) {
    this.ctx = ctx;
    this.res = res;
    this.req = res.req;
    this.method = this.req.method ?? 'GET';
    this.host = '';
    this.authority = '';
    this.path = '/';
    this.query = '';
    this.headers = this.req.headers;
    this.peerAddress = peerOf(this.req);
    this.scheme = ctx.scheme;
    this.upstreamHost = '';
    this.originalPath = null;
    this.removes = null;
    this.adds = null;
    this.timerSlot = -1;
    this.deadlineAt = 0;
    this.headDeadlineAt = 0;
    this.idleMs = 0;
    this.lastActivityAt = 0;
    this.snap = null;
    this.route = null;
    this.target = null;
    this.cluster = null;
    this.abortUpstream = null;
    this.resumeUpstream = null;
    this.connected = false;
    this.responseStarted = false;
    this.headSent = false;
    this.done = false;
    this.drainHooked = false;
    this.bodyWritten = false;
    this.responseBytesLeft = -1;
    this.bytesReadMark = 0;
  }

  run(): void {
    const ctx = this.ctx;
    ctx.stats.downstreamRequests++;
    // Framing node accepts but a proxy must not forward (request-checks.ts): 400, connection closed.
    if (refuseAmbiguousFraming(this.req, this.res, ctx.stats)) {
      this.done = true;
      return;
    }
    const snap = ctx.store.current;
    if (snap === null) {
      this.reply('GW_ERR_NO_HEALTHY_UPSTREAM', NOT_READY_MESSAGE);
      return;
    }
    this.snap = snap;
    ctx.clusters.sync(snap);
    const settings = snap.settings;
    ctx.onSettings?.(settings);

    // node's url is one char per byte of the request target (latin1), so length is bytes.
    const urlLimit = settings.maxRequestUrlBytes;
    if (urlLimit > 0 && (this.req.url ?? '').length > urlLimit) {
      this.refuse('GW_ERR_URI_TOO_LONG');
      return;
    }
    const countLimit = settings.maxRequestHeadersCount;
    if (countLimit > 0 && this.req.rawHeaders.length > countLimit * 2) {
      this.refuse('GW_ERR_HEADERS_TOO_LARGE');
      return;
    }
    if (!this.parseTarget(settings)) {
      this.reply('GW_ERR_BAD_REQUEST');
      return;
    }
    const route = snap.table.match(this);
    if (route === null) {
      this.reply('GW_ERR_NO_ROUTE');
      return;
    }
    this.route = route;
    if (route.redirect !== null) {
      this.redirect(route, settings);
      return;
    }
    const target = this.pickTarget(route);
    if (target === null) {
      this.reply('GW_ERR_NO_HEALTHY_UPSTREAM');
      return;
    }
    this.target = target;
    const headers = this.headers;
    const cl = headers['content-length'];
    const hasBody = headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
    let body: Readable | null = hasBody ? this.req : null;
    const bodyLimit = target.maxRequestBodyBytes;
    if (hasBody && bodyLimit > 0) {
      // node's parser has validated Content-Length and refused it next to Transfer-Encoding, so a
      // declared length is exactly what will arrive; only a chunked body needs counting.
      if (cl !== undefined) {
        if (Number(cl) > bodyLimit) {
          this.refuse('GW_ERR_BODY_TOO_LARGE');
          return;
        }
      } else {
        const limiter = new BodyLimiter(bodyLimit, this);
        this.req.pipe(limiter);
        body = limiter;
      }
    }
    const irCluster = snap.clusters.get(target.cluster);
    if (irCluster === undefined) {
      this.reply('GW_ERR_NO_HEALTHY_UPSTREAM');
      return;
    }
    const state = ctx.clusters.resolve(irCluster);
    const pool = state.pick();
    if (pool === null) {
      this.reply('GW_ERR_NO_HEALTHY_UPSTREAM');
      return;
    }

    let upstreamPath = this.path;
    if (target.rewritePath !== null) {
      upstreamPath = target.rewritePath(this.path);
      if (upstreamPath !== this.path) {
        this.originalPath = this.query === '' ? this.path : this.path + '?' + this.query;
      }
    }
    if (this.query !== '') upstreamPath = upstreamPath + '?' + this.query;
    this.upstreamHost =
      target.hostRewrite !== null
        ? target.hostRewrite
        : this.authority !== ''
          ? this.authority
          : irCluster.authority;
    this.removes = target.removeRequestHeaders;
    this.adds = target.addRequestHeaders;
    const head = buildRequestHead(this, settings);

    this.cluster = state;
    ctx.clusters.acquire(state);
    ctx.stats.upstreamRequests++;

    const timeoutMs = target.timeoutMs;
    const headTimeoutMs = target.responseHeadersTimeoutMs;
    const ourTimers = timeoutMs > 0 || target.idleTimeoutMs > 0;
    this.bytesReadMark = this.req.socket.bytesRead;
    if (ourTimers) {
      // Envoy starts the route timeout once the whole request has been received.
      ctx.timer.arm(this, hasBody ? 0 : timeoutMs, target.idleTimeoutMs);
    } else {
      // A route with both timeouts disabled still never waits forever on a silent upstream.
      ctx.timer.arm(this, 0, DEFAULT_BACKSTOP_MS);
    }
    // The response-head deadline starts, like the route timeout, once the request is all sent.
    if (!hasBody) ctx.timer.setHeadDeadline(this, headTimeoutMs);
    if (hasBody && (timeoutMs > 0 || headTimeoutMs > 0)) this.req.once('end', () => this.onRequestEnd());
    pool.dispatch({ path: upstreamPath, method: this.method, headers: head, body }, this);
    if (route.shadow !== null && ctx.shadow !== null) {
      ctx.shadow.maybeMirror({ shadow: route.shadow, exchange: this, head, hasBody, snap });
    }
  }

  /** Splits and normalises the request target; false means 400. */
  parseTarget(settings: IrSettings): boolean {
    const url = this.req.url ?? '/';
    let rawPath: string;
    let authority = this.headers.host ?? '';
    if (url.charCodeAt(0) === 0x2f && url.indexOf('#') === -1) {
      const q = url.indexOf('?');
      rawPath = q === -1 ? url : url.slice(0, q);
      this.query = q === -1 ? '' : url.slice(q + 1);
    } else {
      const t = splitTarget(url);
      if (t === null) return false;
      rawPath = t.path;
      this.query = t.query;
      if (t.authority !== null && t.authority !== '') authority = t.authority;
    }
    const path = normalizeRequestPath(rawPath, settings);
    if (path === null) return false;
    this.path = path;
    this.authority = authority;
    this.host = hostOf(authority);
    return true;
  }

  /** One draw in [0, 100) for canary groups; the first target whose threshold exceeds it. */
  pickTarget(route: CompiledRoute): CompiledTarget | null {
    const targets = route.targets;
    if (targets.length === 0) return null;
    if (route.single || targets.length === 1) return targets[0];
    const draw = this.ctx.random() * 100;
    for (let i = 0; i < targets.length; i++) {
      if (draw < targets[i].threshold) return targets[i];
    }
    return targets[targets.length - 1];
  }

  redirect(route: CompiledRoute, settings: IrSettings): void {
    const r = route.redirect!;
    const location = r.location(this.scheme, this.authority, this.path, this.query);
    const head = ['location', location, 'content-length', '0'];
    if (settings.serverName !== null) head.push('server', settings.serverName);
    this.ctx.stats.redirects++;
    this.done = true;
    this.res.writeHead(r.code, head);
    this.res.end();
  }

  reply(code: ErrorCode, message?: string): void {
    this.done = true;
    const serverName = this.snap === null ? null : this.snap.settings.serverName;
    sendLocalReply(this.res, code, {
      stats: this.ctx.stats,
      serverName,
      ...(message === undefined ? {} : { message }),
    });
  }

  /**
   * Refuses the request before anything went upstream, closing the connection after the reply.
   * The unread rest of the request is drained while the reply goes out, so the close is a FIN and
   * not a reset that could destroy the reply in the client's receive buffer.
   */
  refuse(code: ErrorCode): void {
    this.done = true;
    this.req.resume();
    const serverName = this.snap === null ? null : this.snap.settings.serverName;
    sendLocalReply(this.res, code, { stats: this.ctx.stats, serverName, close: true });
  }

  /** BodyLimitSink: the streamed body crossed the route's limit (the limiter then errors). */
  onBodyTooLarge(limiter: BodyLimiter): void {
    if (this.done) return;
    this.finish();
    this.abortUpstream?.(new GatewayError('GW_ERR_BODY_TOO_LARGE'));
    this.req.unpipe(limiter);
    this.req.resume();
    this.upstreamFailed('GW_ERR_BODY_TOO_LARGE', true);
  }

  /** Releases everything the upstream side holds; idempotent. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.ctx.timer.disarm(this);
    if (this.cluster !== null) this.ctx.clusters.release(this.cluster);
  }

  onRequestEnd(): void {
    if (this.done || this.target === null) return;
    if (this.deadlineAt === 0) this.ctx.timer.setDeadline(this, this.target.timeoutMs);
    if (!this.headSent) this.ctx.timer.setHeadDeadline(this, this.target.responseHeadersTimeoutMs);
  }

  /** The listener's close hook: a response that closes before `finish` means the client left. */
  onResponseClose(): void {
    if (this.done) return;
    this.ctx.stats.downstreamResets++;
    this.finish();
    this.abortUpstream?.(new GatewayError('GW_ERR_DOWNSTREAM_RESET'));
  }

  onTimeout(kind: TimeoutKind): void {
    if (this.done) return;
    if (kind === TimeoutKind.Idle) {
      // The request body flows from socket to upstream without passing through us; bytes read off
      // the client socket since the last mark count as activity.
      const read = this.req.socket.bytesRead;
      if (read !== this.bytesReadMark) {
        this.bytesReadMark = read;
        this.ctx.timer.rearm(this);
        return;
      }
    }
    const code: ErrorCode =
      kind === TimeoutKind.Request
        ? 'GW_ERR_UPSTREAM_TIMEOUT'
        : kind === TimeoutKind.ResponseHeaders
          ? 'GW_ERR_UPSTREAM_HEADERS_TIMEOUT'
          : 'GW_ERR_UPSTREAM_IDLE_TIMEOUT';
    this.finish();
    this.abortUpstream?.(new GatewayError(code));
    this.upstreamFailed(code);
  }

  /** Reply locally if nothing was sent yet (closing the connection with `close`), else cut the
   * client connection. */
  upstreamFailed(code: ErrorCode, close = false): void {
    if (this.headSent) {
      this.ctx.stats.downstreamAborts++;
      this.ctx.stats.localReply(code);
      abortResponse(this.res);
      return;
    }
    const serverName = this.snap === null ? null : this.snap.settings.serverName;
    sendLocalReply(this.res, code, { stats: this.ctx.stats, serverName, close });
  }

  /** See createStreamHandler. */
  crashed(err: unknown): void {
    const wasDone = this.done;
    this.finish();
    this.ctx.onUpstreamError?.(err, this.route === null ? '' : this.route.id);
    if (!this.res.headersSent && !this.res.destroyed) {
      // Nothing reached the client yet: a clear 500 rather than a dropped connection.
      sendLocalReply(this.res, 'GW_ERR_INTERNAL', {
        stats: this.ctx.stats,
        serverName: this.snap === null ? null : this.snap.settings.serverName,
      });
    } else if (!wasDone || !this.res.writableEnded) {
      this.ctx.stats.downstreamAborts++;
      abortResponse(this.res);
    }
  }

  // --- UpstreamHandler -------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    this.connected = true;
    if (this.done) abort(new GatewayError('GW_ERR_DOWNSTREAM_RESET'));
  }

  onResponseStarted(): void {
    this.responseStarted = true;
  }

  /** Returns false to pause the upstream (never here: the head is small). */
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    if (this.done) return true;
    this.resumeUpstream = resume;
    this.headDeadlineAt = 0;
    const target = this.target!;
    if (this.deadlineAt === 0 && target.timeoutMs > 0) this.ctx.timer.setDeadline(this, target.timeoutMs);
    this.ctx.timer.touch(this);
    const settings = this.snap!.settings;
    const head = buildResponseHead(rawHeaders, target, settings.serverName);
    const bodyLimit = settings.maxResponseBodyBytes;
    if (bodyLimit > 0 && this.method !== 'HEAD' && statusCode !== 204 && statusCode !== 304) {
      if (declaredLength(head) > bodyLimit) {
        this.responseTooLarge();
        return true;
      }
      this.responseBytesLeft = bodyLimit;
    }
    try {
      this.res.writeHead(statusCode, head);
    } catch {
      this.finish();
      this.abortUpstream?.(new GatewayError('GW_ERR_UPSTREAM_PROTOCOL'));
      this.upstreamFailed('GW_ERR_UPSTREAM_PROTOCOL');
      return true;
    }
    this.headSent = true;
    return true;
  }

  /** Returns false to pause the upstream until the client drains. */
  onData(chunk: Buffer, last: boolean): boolean {
    if (this.done) return true;
    this.ctx.timer.touch(this);
    if (this.responseBytesLeft >= 0) {
      this.responseBytesLeft -= chunk.length;
      if (this.responseBytesLeft < 0) {
        this.responseTooLarge();
        return true;
      }
    }
    if (last && !this.bodyWritten && chunk.length <= SINGLE_WRITE_BYTES) {
      // The whole body in one slice: head and body leave in one write. node:http joins a string
      // body onto the head it has not sent yet; a Buffer would go out as a second buffer of a
      // writev, which costs more per response than copying a small body into a string.
      this.res.end(chunk.toString('latin1'), 'latin1');
      return true;
    }
    this.bodyWritten = true;
    if (this.res.write(chunk)) return true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      // Only while this exchange runs: the connection's resume is not bound to one request, and a
      // late drain must not resume a connection already carrying someone else's response.
      this.res.on('drain', () => {
        if (!this.done) this.resumeUpstream?.();
      });
    }
    return false;
  }

  /** The upstream's body is over `max_response_body_bytes`: 502 if the head is not out, else cut. */
  responseTooLarge(): void {
    this.finish();
    this.abortUpstream?.(new GatewayError('GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE'));
    this.upstreamFailed('GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE');
  }

  onComplete(): void {
    if (this.done) return;
    this.finish();
    this.ctx.stats.upstreamResponses++;
    // The whole response may have gone out in `onData` already (see there).
    if (!this.res.writableEnded) this.res.end();
  }

  onError(err: Error): void {
    if (this.done) return;
    this.finish();
    const code = classifyUpstreamError(err, this.connected, this.responseStarted);
    this.ctx.onUpstreamError?.(err, this.route === null ? '' : this.route.id);
    this.upstreamFailed(code);
  }
}

/** Largest body sent together with the head as one string (see `onData`). */
const SINGLE_WRITE_BYTES = 16 * 1024;

/** Content-Length of a flat response head, -1 when absent or not a number. */
function declaredLength(head: readonly string[]): number {
  for (let i = 0; i < head.length; i += 2) {
    if (head[i] === 'content-length') {
      const n = Number(head[i + 1]);
      return Number.isFinite(n) ? n : -1;
    }
  }
  return -1;
}

/**
 * The listener's request handler: one Exchange per request. A throw out of the pipeline is a bug;
 * it must not take the process down: the request is answered 500 (or, if its response had started,
 * its connection is cut so the client sees the failure) and the exchange's resources are released.
 */
export function createStreamHandler(ctx: StreamContext): RequestHandler {
  return (_req, res) => {
    const ex = new Exchange(ctx, res);
    try {
      ex.run();
    } catch (err) {
      ex.crashed(err);
    }
    return ex;
  };
}
