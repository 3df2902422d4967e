/**
 * One keep-alive HTTP/1.1 connection to an upstream endpoint, carrying one request at a time
 * (no pipelining). Owned by its `EndpointPool` (pool.ts), which creates it on a connected socket,
 * hands it requests with `start`, and takes it back through `ConnectionOwner.release`.
 *
 * A request's life: `start` writes the head as one latin1 string (framing regenerated: the body
 * keeps its Content-Length or is sent chunked), tells the handler `onConnect(abort)`, then streams
 * the body with backpressure both ways (a full socket pauses the body; a handler returning false
 * from `onData` pauses the socket until its `resume`). The response goes through the strict parser
 * (http1-response.ts) straight into the handler. Once the response is complete and the request body
 * fully sent, the connection goes back to the pool if both sides allow keep-alive and nothing
 * followed the response; otherwise it closes.
 *
 * Invariants:
 * - Exactly one of `onComplete`/`onError` reaches a handler, once, and nothing after it.
 * - `abort` functions are bound to their request: a late call from a finished request never
 *   touches the connection's next request.
 * - The connection returns to the pool only after the parser has consumed the whole read that
 *   completed the response, so bytes after a response can never be taken for the next one.
 * - A request that fails on a *reused* connection before any response byte arrived, without a body
 *   and with an idempotent method, is retried once on a fresh connection (RFC 9112 §9.3.1): this is
 *   the keep-alive race where the upstream closes an idle connection just as it is reused.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ResponseParser, type ResponseSink } from './http1-response.js';

/** What the exchange (or the shadow) sends upstream. */
export interface UpstreamRequest {
  readonly method: string;
  /** Origin-form request target (path and query), already validated. */
  readonly path: string;
  /** Flat `[name, value, …]`, names lower-case, framing headers other than Content-Length absent. */
  readonly headers: readonly string[];
  readonly body: Readable | null;
}

/** The callbacks a request's owner implements; the shape follows undici's raw dispatch handler. */
export interface UpstreamHandler {
  /** The request is on a connected socket; `abort` fails it with `err` (idempotent). May run
   * again with a new `abort` when a stale keep-alive connection made the request retry. */
  onConnect(abort: (err?: Error) => void): void;
  /** The first byte of the response arrived. */
  onResponseStarted(): void;
  /** The final response head (1xx are skipped). The return value is ignored. */
  onHeaders(status: number, headers: string[], resume: () => void): boolean;
  /** A body slice; `last` when it completes a Content-Length body. False pauses until `resume`. */
  onData(chunk: Buffer, last: boolean): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

/** The pool side of a connection. */
export interface ConnectionOwner {
  /** The request is over (complete, or failed with `reusable` false); `reusable` says whether the
   * connection may carry another. */
  release(conn: UpstreamConnection, reusable: boolean): void;
  /** The socket closed (whatever the state). */
  closed(conn: UpstreamConnection): void;
  /** Send `req` again on a fresh connection (see the stale keep-alive rule above). */
  retry(req: UpstreamRequest, handler: UpstreamHandler): void;
}

/** A socket-level failure or close, with a code `errors.ts` classifies. */
export class UpstreamSocketError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'UpstreamSocketError';
    this.code = code;
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Methods whose bodyless requests still carry `content-length: 0` (as undici and node send). */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Bytes that cannot appear in a request target, and characters that latin1 cannot carry. */
const BAD_TARGET = /[\x00-\x20\x7f\u0100-\uffff]/;

function ignore(): void {}

export class UpstreamConnection implements ResponseSink {
  readonly socket: Socket;
  readonly createdAt: number;
  /** Pool bookkeeping: when an idle connection must be retired (ms, `performance.now` clock). */
  idleUntil: number;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #handler: UpstreamHandler | null;
  #request: UpstreamRequest | null;
  /** Requests started on this connection. */
  #uses: number;
  /** Bumped per request; abort closures compare against it. */
  #seq: number;
  #complete: boolean;
  #bodyDone: boolean;
  #chunked: boolean;
  #body: Readable | null;
  #bodyPaused: boolean;
  #closed: boolean;
  readonly #resume: () => void;
  readonly #onBodyData: (chunk: Buffer) => void;
  readonly #onBodyEnd: () => void;
  readonly #onBodyError: (err: Error) => void;

  constructor(socket: Socket, owner: ConnectionOwner, maxHeadBytes: number) {
    this.socket = socket;
    this.createdAt = performance.now();
    this.idleUntil = 0;
    this.#owner = owner;
    this.#parser = new ResponseParser(this, maxHeadBytes);
    this.#handler = null;
    this.#request = null;
    this.#uses = 0;
    this.#seq = 0;
    this.#complete = false;
    this.#bodyDone = true;
    this.#chunked = false;
    this.#body = null;
    this.#bodyPaused = false;
    this.#closed = false;
    this.#resume = () => {
      if (this.#handler !== null) this.socket.resume();
    };
    this.#onBodyData = (chunk) => this.#writeBody(chunk);
    this.#onBodyEnd = () => this.#endBody();
    this.#onBodyError = (err) =>
      this.#fail(new UpstreamSocketError(`request body failed: ${err.message}`, 'UPSTREAM_BODY_ABORTED'));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: Error) => this.#onSocketError(err));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#onDrain());
  }

  /** The last response's `Keep-Alive: timeout` in ms, or -1. */
  get keepAliveHintMs(): number {
    return this.#parser.keepAliveHintMs;
  }

  /** Closed, or destroyed and not yet told so: an idle connection the upstream ended destroys
   * itself at once, but its 'close' comes a turn later, and a request started in between fails. */
  get isClosed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /** Puts `req` on this connection. The connection must be idle and open. */
  start(req: UpstreamRequest, handler: UpstreamHandler): void {
    this.#handler = handler;
    this.#request = req;
    this.#uses++;
    const seq = ++this.#seq;
    this.#complete = false;
    this.#parser.reset(req.method === 'HEAD');
    handler.onConnect((err) => this.#abort(seq, err));
    if (this.#handler !== handler || this.#seq !== seq) return; // aborted in onConnect
    if (BAD_TARGET.test(req.path)) {
      this.#fail(new UpstreamSocketError('request target not sendable', 'UPSTREAM_BAD_REQUEST'), false);
      return;
    }
    const h = req.headers;
    let head = req.method + ' ' + req.path + ' HTTP/1.1\r\n';
    let hasLength = false;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i];
      if (name.length === 14 && name === 'content-length') hasLength = true;
      head += name + ': ' + h[i + 1] + '\r\n';
    }
    const body = req.body;
    if (body === null) {
      if (!hasLength && PAYLOAD_METHODS.has(req.method)) head += 'content-length: 0\r\n';
      this.#bodyDone = true;
      this.socket.write(head + '\r\n', 'latin1');
      return;
    }
    this.#chunked = !hasLength;
    if (this.#chunked) head += 'transfer-encoding: chunked\r\n';
    this.socket.write(head + '\r\n', 'latin1');
    this.#bodyDone = false;
    this.#body = body;
    this.#bodyPaused = false;
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
    if (body.readableEnded) this.#endBody();
  }

  /** Closes the connection now; a request on it fails. */
  destroy(err?: Error): void {
    if (this.#handler !== null) {
      this.#fail(
        err ?? new UpstreamSocketError('connection closed by the gateway', 'UPSTREAM_DESTROYED'),
        false,
      );
      return;
    }
    this.socket.destroy();
  }

  // --- request body ------------------------------------------------------------------------

  #writeBody(chunk: Buffer): void {
    if (this.#handler === null || chunk.length === 0) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.#chunked) {
      socket.cork();
      socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(chunk);
    }
    if (!ok && this.#body !== null) {
      this.#bodyPaused = true;
      this.#body.pause();
    }
  }

  #endBody(): void {
    if (this.#bodyDone) return;
    this.#bodyDone = true;
    if (this.#handler !== null && this.#chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.#detachBody();
  }

  #detachBody(): void {
    const body = this.#body;
    if (body === null) return;
    this.#body = null;
    body.removeListener('data', this.#onBodyData);
    body.removeListener('end', this.#onBodyEnd);
    body.removeListener('error', this.#onBodyError);
    // A body stream may still fail after the request ended (a body limiter, a client gone);
    // with no listener at all that error would be thrown.
    if (body.listenerCount('error') === 0) body.on('error', ignore);
    if (this.#bodyPaused) {
      this.#bodyPaused = false;
      body.resume();
    }
  }

  #onDrain(): void {
    if (this.#bodyPaused && this.#body !== null) {
      this.#bodyPaused = false;
      this.#body.resume();
    }
  }

  // --- response ------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    const handler = this.#handler;
    if (handler === null) {
      // Bytes on an idle connection: nothing can be framed after them.
      this.socket.destroy();
      return;
    }
    if (!this.#parser.started) handler.onResponseStarted();
    try {
      this.#parser.execute(chunk);
    } catch (err) {
      this.#fail(err as Error, false);
      return;
    }
    if (this.#complete && this.#handler === handler) {
      // The upstream may answer before the whole body was sent: the response stands, but the
      // connection cannot carry another request.
      const bodySent = this.#bodyDone;
      if (!bodySent) this.#detachBody();
      this.#finish(bodySent);
    }
  }

  onResponseHead(status: number, headers: string[]): void {
    this.#handler?.onHeaders(status, headers, this.#resume);
  }

  onResponseBody(chunk: Buffer, last: boolean): void {
    const handler = this.#handler;
    if (handler === null) return;
    if (!handler.onData(chunk, last) && this.#handler === handler) this.socket.pause();
  }

  onResponseEnd(): void {
    this.#complete = true;
  }

  #finish(bodySent: boolean): void {
    const handler = this.#handler;
    if (handler === null) return;
    const parser = this.#parser;
    const reusable = bodySent && parser.keepAlive && parser.trailingBytes === 0 && !this.#closed;
    this.#handler = null;
    this.#request = null;
    this.#bodyDone = true;
    if (this.socket.isPaused()) this.socket.resume();
    try {
      handler.onComplete();
    } finally {
      this.#owner.release(this, reusable);
    }
  }

  #onEnd(): void {
    const handler = this.#handler;
    if (handler === null) {
      this.socket.destroy();
      return;
    }
    let finished = false;
    try {
      finished = this.#parser.finishEof();
    } catch (err) {
      this.#fail(err as Error, false);
      return;
    }
    if (finished && this.#handler === handler) {
      this.#detachBody();
      this.#finish(false);
      return;
    }
    this.#fail(new UpstreamSocketError('upstream closed the connection', 'UPSTREAM_CLOSED'));
  }

  #onSocketError(err: Error): void {
    if (this.#handler !== null) this.#fail(err);
  }

  #onClose(): void {
    this.#closed = true;
    if (this.#handler !== null) {
      this.#fail(new UpstreamSocketError('upstream connection closed', 'UPSTREAM_CLOSED'));
    }
    this.#owner.closed(this);
  }

  #abort(seq: number, err?: Error): void {
    if (seq !== this.#seq || this.#handler === null) return;
    this.#fail(err ?? new UpstreamSocketError('request aborted', 'UPSTREAM_ABORTED'), false);
  }

  /**
   * Ends the current request with `err` and closes the connection. With `mayRetry`, a failure
   * before any response byte on a reused connection is retried once (see the module header).
   */
  #fail(err: Error, mayRetry = true): void {
    const handler = this.#handler;
    const req = this.#request;
    if (handler === null || req === null) return;
    this.#handler = null;
    this.#request = null;
    this.#parser.stop();
    const hadBody = req.body !== null;
    this.#detachBody();
    this.socket.destroy();
    if (mayRetry && this.#uses > 1 && !this.#parser.started && !hadBody && IDEMPOTENT.has(req.method)) {
      this.#owner.retry(req, handler);
      return;
    }
    this.#owner.release(this, false);
    handler.onError(err);
  }
}
