/**
 * The HTTP/1.1 listener: a node:http server that hands every request to the stream handler.
 * It owns sockets and connection lifetime only; nothing here knows about routes or snapshots, so
 * HTTP/2, TLS and upgrade listeners can reuse the same stream handler.
 *
 * Invariants:
 * - Reconfiguration never closes a connection: snapshots are read by the stream, so keep-alive
 *   client connections survive every swap. The only thing a swap changes here is the limits
 *   (`applyLimits`), which are plain properties of node's server: node reads `maxHeaderSize` and
 *   `maxConnections` when it accepts a connection, `headersTimeout`/`requestTimeout` on every
 *   connection check, `keepAliveTimeout` when a response finishes and `maxRequestsPerSocket` per
 *   request, so new values apply to new connections and requests without a restart.
 * - `close()` is graceful: stop accepting, close idle keep-alive connections at once, let in-flight
 *   requests finish (their responses carry `Connection: close` when they start after the drain
 *   began), close each connection as it goes idle, and after `drainMs` close whatever is left.
 *
 * - A request node's parser refuses (smuggling forms, bad header bytes, oversized head) or a client
 *   too slow to send its request gets one short local reply (400, 431 or 408, with the response
 *   flag) and the connection is closed: the bytes after a malformed head cannot be trusted, so
 *   nothing more is read from that connection and nothing of it is forwarded.
 *
 * - `maxHeadersCount` is 0 (unlimited): node would otherwise drop header fields past 1000 without
 *   a word; the stream counts `rawHeaders` against the Module's limit and answers 431 instead.
 * - Connections over `maxConnections` are closed by node at accept (before a byte is read) and
 *   reported through `onConnectionDropped`.
 * - The head and whole-request timeouts are checked by node every CONNECTION_CHECK_INTERVAL_MS,
 *   so they fire up to that much late.
 *
 * Defaults (when no snapshot says otherwise): headersTimeout 60 s (slow-header defence),
 * requestTimeout 300 s (node's default; it bounds a whole upload, raise it for very large bodies),
 * keep-alive idle 75 s (longer than the common 60 s idle timeout of load balancers in front, so they
 * close first), max header size 60 KiB (Envoy's `max_request_headers_kb` default), no connection or
 * per-connection request limit.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ErrorCode } from '../../errors/codes.js';
import {
  localReplyBody,
  localReplyFlag,
  localReplyStatus,
  RESPONSE_FLAGS_HEADER,
} from '../stream/local-reply.js';

/** What a request handler may hand back: told once, after the listener, when the response closes
 * (finished or cut). */
export interface ResponseCloseHook {
  onResponseClose(): void;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => ResponseCloseHook | null;

const kListener = Symbol('legate.listener');
const kCloseHook = Symbol('legate.closeHook');

/**
 * A response this listener tracks. The two fields are set on every response, in the same order,
 * so every ServerResponse keeps one shape; they let a single shared function serve as every
 * response's `close` listener (no closure, no `once` wrapper, one listener instead of two per
 * request).
 */
interface TrackedResponse extends ServerResponse {
  [kListener]: Http1Listener;
  [kCloseHook]: ResponseCloseHook | null;
}

/** The downstream limits a listener enforces itself (through node's server). 0 turns one off. */
export interface ListenerLimits {
  /** The request head must arrive within this (408). */
  readonly headersTimeoutMs: number;
  /** The whole request, head and body, must arrive within this (408). */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Largest request head in bytes (431); 0 means node's own default (16 KiB). */
  readonly maxHeaderBytes: number;
  /** Open connections; more are closed at accept. */
  readonly maxConnections: number;
  /** Requests per connection; the last response carries `Connection: close`. */
  readonly maxRequestsPerConnection: number;
}

export interface Http1ListenerOptions extends Partial<ListenerLimits> {
  readonly host: string;
  readonly port: number;
  readonly handler: RequestHandler;
  /** Told about every request refused before it reached the handler (for counting). */
  readonly onClientError?: (code: ErrorCode) => void;
  /** Told about every connection closed at accept because `maxConnections` was reached. */
  readonly onConnectionDropped?: () => void;
}

/** What node's parser or connection checks reported → the local reply's error code; null = just close. */
export function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode | null {
  const code = err.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') return 'GW_ERR_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'GW_ERR_REQUEST_TIMEOUT';
  if (code.startsWith('HPE_')) return 'GW_ERR_BAD_REQUEST';
  // ECONNRESET, EPIPE, ETIMEDOUT…: the client is gone; there is no one to answer.
  return null;
}

/** Reply bytes per code, built once: the socket has no ServerResponse to write them through. */
const CLIENT_ERROR_REPLIES = new Map<ErrorCode, Buffer>();
function clientErrorReply(code: ErrorCode): Buffer {
  let reply = CLIENT_ERROR_REPLIES.get(code);
  if (reply === undefined) {
    const status = localReplyStatus(code);
    const body = localReplyBody(code);
    reply = Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
          `content-type: text/plain\r\ncontent-length: ${body.length}\r\n` +
          `${RESPONSE_FLAGS_HEADER}: ${localReplyFlag(code)}\r\nconnection: close\r\n\r\n`,
        'latin1',
      ),
      body,
    ]);
    CLIENT_ERROR_REPLIES.set(code, reply);
  }
  return reply;
}

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/** The response ends its connection (`Connection: close`): nothing may follow it. */
function closesConnection(res: ServerResponse): boolean {
  return (res as ServerResponse & { _last?: boolean })._last === true || !res.shouldKeepAlive;
}

/**
 * Answers a request node refused with the code's reply, then closes the connection.
 *
 * - A response still in flight for an earlier, fully received request (pipelining) goes out
 *   first: the refusal waits for it to finish, because bytes after a complete response are read
 *   as the answer to the next request, which is exactly the refused one. If that response closes
 *   the connection itself (the stream refused it with `Connection: close`), nothing is added.
 * - A response in flight for the refused request itself (its body was malformed or too slow):
 *   answer only when nothing of it is on the wire yet (node's own rule), else the client would read
 *   our bytes as part of a response it is already receiving; then the connection is just cut.
 */
function refuseConnection(
  socket: HttpSocket,
  code: ErrorCode,
  onClientError: ((code: ErrorCode) => void) | undefined,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const inflight = socket._httpMessage;
  if (inflight != null) {
    if (inflight.req.complete) {
      if (!inflight.writableFinished) {
        // node detaches a finished response (and attaches the next queued one) before later
        // 'finish' listeners run, so the check repeats for whatever is in flight then.
        inflight.once('finish', () => refuseConnection(socket, code, onClientError));
        inflight.once('close', () => {
          if (!inflight.writableFinished) socket.destroy();
        });
        return;
      }
      if (closesConnection(inflight)) {
        socket.destroy();
        return;
      }
    } else if (inflight.headersSent) {
      socket.destroy();
      return;
    }
  }
  onClientError?.(code);
  socket.end(clientErrorReply(code));
  // end() flushes the reply; destroy soon after in case the peer never reads it.
  setTimeout(() => socket.destroy(), 1000).unref();
}

export const HTTP1_DEFAULTS: ListenerLimits = {
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 75_000,
  maxHeaderBytes: 60 * 1024,
  maxConnections: 0,
  maxRequestsPerConnection: 0,
};

/**
 * How often node looks for connections past their head/request timeout (node's own default is
 * 30 s, which would let a 10 s limit fire at 40 s). Node reads it once, at listen, so it cannot
 * follow a Module change: a fixed value that suits any limit down to about a second is used.
 * Cost: one walk over the connections that are mid-request, four times a second.
 */
export const CONNECTION_CHECK_INTERVAL_MS = 250;

/** `base` with every limit `over` sets taken from `over`. */
export function withLimits(base: ListenerLimits, over: Partial<ListenerLimits>): ListenerLimits {
  return {
    headersTimeoutMs: over.headersTimeoutMs ?? base.headersTimeoutMs,
    requestTimeoutMs: over.requestTimeoutMs ?? base.requestTimeoutMs,
    keepAliveTimeoutMs: over.keepAliveTimeoutMs ?? base.keepAliveTimeoutMs,
    maxHeaderBytes: over.maxHeaderBytes ?? base.maxHeaderBytes,
    maxConnections: over.maxConnections ?? base.maxConnections,
    maxRequestsPerConnection: over.maxRequestsPerConnection ?? base.maxRequestsPerConnection,
  };
}

/** Limits in the shape node's server takes them. */
function applyToServer(server: Server, l: ListenerLimits): void {
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  // Not in @types/node, but node stores the option there and reads it per connection.
  (server as Server & { maxHeaderSize: number }).maxHeaderSize = l.maxHeaderBytes;
  server.maxConnections = l.maxConnections > 0 ? l.maxConnections : Number.POSITIVE_INFINITY;
  server.maxRequestsPerSocket = l.maxRequestsPerConnection;
}
export class Http1Listener {
  readonly #server: Server;
  readonly #handler: RequestHandler;
  #inflight = 0;
  #draining = false;
  #drained: (() => void) | null = null;
  #closed: Promise<void> | null = null;
  #limits: ListenerLimits;

  private constructor(opts: Http1ListenerOptions) {
    this.#handler = opts.handler;
    this.#server = createServer(
      {
        noDelay: true,
        connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS,
        // The stream refuses an HTTP/1.1 request without Host itself (request-checks.ts), with the
        // response flag and body every refusal carries; node's own check answers a bare 400.
        requireHostHeader: false,
      },
      (req, res) => this.#onRequest(req, res),
    );
    // Header fields are counted by the stream (see the module header), never dropped here.
    this.#server.maxHeadersCount = 0;
    this.#limits = withLimits(HTTP1_DEFAULTS, opts);
    applyToServer(this.#server, this.#limits);
    const onDropped = opts.onConnectionDropped;
    if (onDropped !== undefined) this.#server.on('drop', () => onDropped());
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const code = clientErrorCode(err);
      if (code === null) {
        socket.destroy();
        return;
      }
      refuseConnection(socket, code, opts.onClientError);
    });
  }

  /** The limits in force. */
  get limits(): ListenerLimits {
    return this.#limits;
  }

  /**
   * Replaces the limits; they apply to connections accepted and requests started from now on
   * (open connections keep their head-size limit; the timeouts apply to them at the next check).
   * Never closes a connection.
   */
  applyLimits(limits: ListenerLimits): void {
    this.#limits = limits;
    applyToServer(this.#server, limits);
  }

  static start(opts: Http1ListenerOptions): Promise<Http1Listener> {
    const listener = new Http1Listener(opts);
    const server = listener.#server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(opts.port, opts.host, () => {
        server.off('error', onError);
        resolve(listener);
      });
    });
  }

  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Requests whose response has not closed yet. */
  get inflight(): number {
    return this.#inflight;
  }

  get server(): Server {
    return this.#server;
  }

  static readonly #onClose = function onTrackedResponseClose(this: TrackedResponse): void {
    const hook = this[kCloseHook];
    this[kCloseHook] = null;
    this[kListener].#onResponseClose();
    if (hook !== null) hook.onResponseClose();
  };

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#inflight++;
    // node marks the response that reaches `maxRequestsPerSocket` but still keeps the connection
    // open (it answers the next request 503 itself); ending it here closes it after this response.
    if (
      this.#draining ||
      (res as ServerResponse & { maxRequestsOnConnectionReached?: boolean })
        .maxRequestsOnConnectionReached === true
    )
      res.shouldKeepAlive = false;
    const tracked = res as TrackedResponse;
    tracked[kListener] = this;
    tracked[kCloseHook] = null;
    // node emits 'close' once per response, on a later tick, so the hook is in place by then.
    res.on('close', Http1Listener.#onClose);
    tracked[kCloseHook] = this.#handler(req, res);
  }

  #onResponseClose(): void {
    this.#inflight--;
    if (!this.#draining) return;
    // The connection becomes idle only after node detaches the response; look on the next turn.
    setImmediate(() => this.#server.closeIdleConnections());
    if (this.#inflight === 0) this.#drained?.();
  }

  /** Graceful close; idempotent. After `drainMs` (default 30 s) remaining connections are cut. */
  close(opts: { readonly drainMs?: number } = {}): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    const drainMs = opts.drainMs ?? 30_000;
    this.#draining = true;
    const server = this.#server;
    this.#closed = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
      deadline.unref();
      const finished = (): void => {
        clearTimeout(deadline);
        setImmediate(() => server.closeIdleConnections());
      };
      if (this.#inflight === 0) finished();
      else this.#drained = finished;
    });
    return this.#closed;
  }
}
