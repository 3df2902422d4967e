/**
 * An incremental, strict HTTP/1.1 response parser for upstream connections (RFC 9112), driven by
 * `http1-connection.ts`: one parser per connection, `reset` before each request, `execute` with
 * every chunk the socket reads, `finishEof` when the socket ends.
 *
 * Why our own: the upstream side of the proxy used undici's Pool, whose per-request cost (request
 * validation, the wasm parser's per-header callbacks, a deferred write on each reused connection)
 * was the largest share of the gateway's CPU per request. A response head is parsed here as one
 * latin1 string with one regular-expression scan for forbidden bytes and a split into lines; body
 * bytes are handed on as sub-slices of the socket's buffers, never copied.
 *
 * Strictness, because a mis-framed response on a keep-alive connection would answer the next
 * client's request with someone else's bytes:
 * - lines end in CRLF; a bare CR or LF, a control character (other than HTAB in values), an obs-fold
 *   continuation line, a space before a header's colon or a name that is not a token is an error;
 * - the status line is `HTTP/1.0` or `HTTP/1.1`, three digits, optional reason;
 * - Content-Length is digits only; several values (repeated or comma-separated) must agree;
 * - Transfer-Encoding must be exactly `chunked`, and never next to Content-Length;
 * - chunk sizes are hex (at most 15 digits), extensions are skipped, every chunk ends in CRLF;
 *   trailers are read and dropped (the client side is HTTP/1.1 without trailers);
 * - a head over `maxHeadBytes` (status line and fields together) is its own error;
 * - 1xx informational heads (other than 101) are skipped; 101 is an error (no upgrade was asked).
 * Errors carry a `code` (`UpstreamProtocolError`) that `errors.ts` classifies.
 *
 * Framing (RFC 9112 §6.3): no body after a HEAD request or for 204/304; chunked; Content-Length; or,
 * with neither, everything until the connection closes (and that connection is not reused).
 * Keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` and
 * a known length. `Keep-Alive: timeout=N` is reported so the pool retires the connection first.
 */

import { TCHAR } from '../../util/http-token.js';

/** An upstream response that does not parse; `code` says which rule it broke. */
export class UpstreamProtocolError extends Error {
  readonly code: 'UPSTREAM_PROTOCOL' | 'UPSTREAM_HEAD_TOO_LARGE';
  constructor(message: string, code: 'UPSTREAM_PROTOCOL' | 'UPSTREAM_HEAD_TOO_LARGE' = 'UPSTREAM_PROTOCOL') {
    super(message);
    this.name = 'UpstreamProtocolError';
    this.code = code;
  }
}

/** What the parser reports; called synchronously from `execute`/`finishEof`. */
export interface ResponseSink {
  /** The final (non-1xx) response head. `headers` is flat `[name, value, …]`, names as sent. */
  onResponseHead(status: number, headers: string[]): void;
  /** A body slice (a view of the socket's buffer). `last` is true when it completes a
   * Content-Length body, so `onResponseEnd` follows at once. */
  onResponseBody(chunk: Buffer, last: boolean): void;
  onResponseEnd(): void;
}

const State = {
  Head: 0,
  BodyLength: 1,
  ChunkSize: 2,
  ChunkExt: 3,
  ChunkSizeLf: 4,
  ChunkData: 5,
  ChunkDataCr: 6,
  ChunkDataLf: 7,
  Trailers: 8,
  TrailerLf: 9,
  BodyEof: 10,
  Done: 11,
  /** Stopped by the owner (`stop`) or after an error: every further byte is ignored. */
  Dead: 12,
} as const;
type State = (typeof State)[keyof typeof State];

const CR = 0x0d;
const LF = 0x0a;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const NO_BYTES = Buffer.alloc(0);
/** Longest chunk-size line (size plus extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
/** An LF after a byte other than CR: in a head not ended yet, the sign of LF-only line endings,
 * whose end (LF LF) would otherwise never be seen and the response would wait for a timeout. */
const BARE_LF = /[^\r]\n/;
const DIGITS = /^\d{1,15}$/;

/** Strips leading/trailing SP and HTAB (OWS). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  #maxHeadBytes: number;
  #state: State;
  #noBody: boolean;
  /** Head bytes received so far when the head spans reads. */
  #headParts: Buffer[];
  #headLength: number;
  /** The last (up to) three bytes of `#headParts`. */
  #tail: Buffer;
  #remaining: number;
  #chunkLine: number;
  #trailerBytes: number;
  #lineStart: boolean;
  #started: boolean;
  /** Outcome of the last head, for the connection's reuse decision. */
  keepAlive: boolean;
  /** `Keep-Alive: timeout=N` of the last head in ms, or -1. */
  keepAliveHintMs: number;
  status: number;
  /** Bytes after a complete response (pipelining=1 means there should be none). */
  trailingBytes: number;

  constructor(sink: ResponseSink, maxHeadBytes: number) {
    this.#sink = sink;
    this.#maxHeadBytes = maxHeadBytes;
    this.#state = State.Dead;
    this.#noBody = false;
    this.#headParts = [];
    this.#headLength = 0;
    this.#tail = NO_BYTES;
    this.#remaining = 0;
    this.#chunkLine = 0;
    this.#trailerBytes = 0;
    this.#lineStart = true;
    this.#started = false;
    this.keepAlive = false;
    this.keepAliveHintMs = -1;
    this.status = 0;
    this.trailingBytes = 0;
  }

  /** Prepares for the response to one request; `noBody` for HEAD requests. */
  reset(noBody: boolean): void {
    this.#state = State.Head;
    this.#noBody = noBody;
    this.#headParts = [];
    this.#headLength = 0;
    this.#tail = NO_BYTES;
    this.#started = false;
    this.keepAlive = false;
    this.keepAliveHintMs = -1;
    this.status = 0;
    this.trailingBytes = 0;
  }

  /** Ignores everything from now on (the request was aborted or the connection failed). */
  stop(): void {
    this.#state = State.Dead;
  }

  /** At least one byte of this response arrived. */
  get started(): boolean {
    return this.#started;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Reading until the connection closes (no length, not chunked). */
  get untilEof(): boolean {
    return this.#state === State.BodyEof;
  }

  /** Feeds bytes; throws `UpstreamProtocolError` on a malformed response. */
  execute(buf: Buffer): void {
    if (buf.length === 0) return;
    if (this.#state === State.Dead) return;
    if (this.#state === State.Done) {
      this.trailingBytes += buf.length;
      return;
    }
    this.#started = true;
    let off = 0;
    while (off < buf.length) {
      switch (this.#state as State) {
        case State.Head:
          off = this.#readHead(buf, off);
          break;
        case State.BodyLength: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#remaining -= n;
          const last = this.#remaining === 0;
          if (last) this.#state = State.Done;
          this.#sink.onResponseBody(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n), last);
          off += n;
          if (last && this.#state === State.Done) this.#sink.onResponseEnd();
          break;
        }
        case State.BodyEof:
          this.#sink.onResponseBody(off === 0 ? buf : buf.subarray(off), false);
          off = buf.length;
          break;
        case State.ChunkData: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.ChunkDataCr;
          this.#sink.onResponseBody(buf.subarray(off, off + n), false);
          off += n;
          break;
        }
        case State.Done:
          this.trailingBytes += buf.length - off;
          return;
        case State.Dead:
          return;
        default:
          off = this.#readChunkFraming(buf, off);
      }
    }
  }

  /** The connection ended. True when that completes the response (a body read to EOF); false
   * when the response is cut short (or none had started). */
  finishEof(): boolean {
    if (this.#state === State.BodyEof) {
      this.#state = State.Done;
      this.#sink.onResponseEnd();
      return true;
    }
    return this.#state === State.Done;
  }

  #readHead(buf: Buffer, off: number): number {
    let head: string;
    let rest: number;
    if (this.#headParts.length === 0) {
      const end = buf.indexOf(HEAD_END, off);
      if (end === -1) {
        if (BARE_LF.test(buf.toString('latin1', off))) throw protocol('bare LF in response head');
        this.#keepHeadPart(buf.subarray(off));
        return buf.length;
      }
      if (end - off > this.#maxHeadBytes) throw headTooLarge();
      head = buf.toString('latin1', off, end);
      rest = end + 4;
    } else {
      // The terminator may straddle the new bytes and up to three earlier ones (which may lie in
      // more than one earlier part): search those three and the new bytes only, so a head that
      // trickles in is not copied again on every read; the whole head is joined once, at its end.
      const fresh = buf.subarray(off);
      const tail = this.#tail;
      const window = Buffer.concat([tail, fresh]);
      const at = window.indexOf(HEAD_END);
      if (at === -1) {
        // The new bytes and the one before them (checked already, but it may be this LF's CR).
        if (BARE_LF.test(window.toString('latin1', tail.length - 1))) {
          throw protocol('bare LF in response head');
        }
        this.#keepHeadPart(fresh);
        return buf.length;
      }
      const end = this.#headLength - tail.length + at;
      if (end > this.#maxHeadBytes) throw headTooLarge();
      head = Buffer.concat([...this.#headParts, fresh]).toString('latin1', 0, end);
      rest = off + (end + 4 - this.#headLength);
      this.#headParts = [];
      this.#headLength = 0;
      this.#tail = NO_BYTES;
    }
    this.#onHead(head);
    return rest;
  }

  #keepHeadPart(part: Buffer): void {
    this.#headLength += part.length;
    if (this.#headLength > this.#maxHeadBytes + 3) throw headTooLarge();
    this.#headParts.push(part);
    this.#tail =
      part.length >= 3 ? part.subarray(part.length - 3) : Buffer.concat([this.#tail, part]).subarray(-3);
  }

  /**
   * One pass over the head's characters: the status line, then each field line checked (token
   * name, colon, value without control characters other than HTAB, lines ended by CRLF) and cut
   * out with `slice`, which shares the head string's storage.
   */
  #onHead(head: string): void {
    const n = head.length;
    let eol = head.indexOf('\r\n');
    if (eol === -1) eol = n;
    const status = statusOf(head, eol);
    const http10 = head.charCodeAt(7) === 0x30;
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let sawTe = false;
    let close = false;
    let keepAliveToken = false;
    let hint = -1;
    let pos = eol + 2;
    while (pos < n) {
      let i = pos;
      let c = head.charCodeAt(i);
      while (c < 128 && TCHAR[c] === 1) c = head.charCodeAt(++i);
      if (c !== 0x3a) {
        throw protocol(
          i === pos
            ? c === 0x20 || c === 0x09
              ? 'obsolete line folding'
              : 'empty or invalid header name'
            : 'invalid header name',
        );
      }
      if (i === pos) throw protocol('empty header name');
      const name = head.slice(pos, i);
      i++;
      c = head.charCodeAt(i);
      while (c === 0x20 || c === 0x09) c = head.charCodeAt(++i);
      const valueStart = i;
      let valueEnd = i;
      while (i < n) {
        c = head.charCodeAt(i);
        if (c === 0x0d) break;
        if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw protocol('forbidden byte in response head');
        i++;
        if (c !== 0x20 && c !== 0x09) valueEnd = i;
      }
      if (i < n) {
        if (head.charCodeAt(i + 1) !== 0x0a) throw protocol('forbidden byte in response head');
        pos = i + 2;
        if (pos >= n) throw protocol('forbidden byte in response head');
      } else {
        pos = n;
      }
      const value = head.slice(valueStart, valueEnd);
      headers.push(name, value);
      const len = name.length;
      if (len !== 14 && len !== 17 && len !== 10) continue;
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        contentLength = lengthOf(value, contentLength);
      } else if (lower === 'transfer-encoding') {
        if (sawTe) throw protocol('repeated Transfer-Encoding');
        sawTe = true;
        if (value.toLowerCase() !== 'chunked') throw protocol('unsupported Transfer-Encoding');
        chunked = true;
      } else if (lower === 'connection') {
        const v = value.toLowerCase();
        if (v === 'keep-alive') keepAliveToken = true;
        else if (v === 'close') close = true;
        else {
          const tokens = v.split(',');
          for (let t = 0; t < tokens.length; t++) {
            const tok = trimOws(tokens[t]);
            if (tok === 'close') close = true;
            else if (tok === 'keep-alive') keepAliveToken = true;
          }
        }
      } else if (lower === 'keep-alive') {
        const t = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,9})/i.exec(value);
        if (t !== null) hint = Number(t[1]) * 1000;
      }
    }
    if (status < 200) {
      if (status === 101) throw protocol('unexpected 101 Switching Protocols');
      // Informational: skip it and read the next head.
      this.#state = State.Head;
      return;
    }
    if (chunked && contentLength !== -1) throw protocol('Content-Length next to Transfer-Encoding');
    this.status = status;
    this.keepAliveHintMs = hint;
    let keepAlive = http10 ? keepAliveToken && !close : !close;
    let state: State;
    if (this.#noBody || status === 204 || status === 304) state = State.Done;
    else if (chunked) {
      state = State.ChunkSize;
      this.#remaining = 0;
      this.#chunkLine = 0;
    } else if (contentLength !== -1) {
      state = contentLength === 0 ? State.Done : State.BodyLength;
      this.#remaining = contentLength;
    } else {
      state = State.BodyEof;
      keepAlive = false;
    }
    this.keepAlive = keepAlive;
    this.#state = state;
    this.#sink.onResponseHead(status, headers);
    if (state === State.Done && this.#state === State.Done) this.#sink.onResponseEnd();
  }

  /** Chunk sizes, extensions, data CRLFs and trailers; returns the new offset. */
  #readChunkFraming(buf: Buffer, off: number): number {
    while (off < buf.length) {
      const c = buf[off];
      switch (this.#state) {
        case State.ChunkSize: {
          const h = hexValue(c);
          if (h !== -1) {
            if (++this.#chunkLine > 15) throw protocol('chunk size too large');
            this.#remaining = this.#remaining * 16 + h;
            off++;
            continue;
          }
          if (this.#chunkLine === 0) throw protocol('invalid chunk size');
          if (c === CR) this.#state = State.ChunkSizeLf;
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.#state = State.ChunkExt;
          else throw protocol('invalid chunk size');
          off++;
          continue;
        }
        case State.ChunkExt:
          if (++this.#chunkLine > MAX_CHUNK_LINE) throw protocol('chunk extension too long');
          if (c === CR) this.#state = State.ChunkSizeLf;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw protocol('invalid chunk extension');
          off++;
          continue;
        case State.ChunkSizeLf:
          if (c !== LF) throw protocol('chunk size line not ended by CRLF');
          off++;
          this.#chunkLine = 0;
          if (this.#remaining === 0) {
            this.#state = State.Trailers;
            this.#trailerBytes = 0;
            this.#lineStart = true;
            continue;
          }
          this.#state = State.ChunkData;
          return off;
        case State.ChunkDataCr:
          if (c !== CR) throw protocol('chunk data not ended by CRLF');
          this.#state = State.ChunkDataLf;
          off++;
          continue;
        case State.ChunkDataLf:
          if (c !== LF) throw protocol('chunk data not ended by CRLF');
          this.#state = State.ChunkSize;
          this.#remaining = 0;
          this.#chunkLine = 0;
          off++;
          continue;
        case State.Trailers:
        case State.TrailerLf:
          return this.#readTrailers(buf, off);
        default:
          return off;
      }
    }
    return off;
  }

  /** Trailer fields after the last chunk, dropped; an empty line ends the message. */
  #readTrailers(buf: Buffer, off: number): number {
    while (off < buf.length) {
      const c = buf[off++];
      if (++this.#trailerBytes > this.#maxHeadBytes) throw headTooLarge();
      if (this.#state === State.TrailerLf) {
        if (c !== LF) throw protocol('bare CR in trailers');
        if (this.#lineStart) {
          this.#state = State.Done;
          this.#sink.onResponseEnd();
          return off;
        }
        this.#lineStart = true;
        this.#state = State.Trailers;
      } else if (c === CR) {
        this.#state = State.TrailerLf;
      } else if (c === LF || (c < 0x20 && c !== 0x09) || c === 0x7f) {
        throw protocol('invalid byte in trailers');
      } else {
        this.#lineStart = false;
      }
    }
    return off;
  }
}

/**
 * The status line `head[0, eol)`: `HTTP/1.0` or `HTTP/1.1`, SP, three digits (100–999), then
 * nothing or SP and a reason without control characters other than HTAB. Returns the status;
 * throws on anything else.
 */
function statusOf(head: string, eol: number): number {
  if (eol < 12 || !head.startsWith('HTTP/1.') || head.charCodeAt(8) !== 0x20) {
    throw protocol('malformed status line');
  }
  const minor = head.charCodeAt(7);
  const d0 = head.charCodeAt(9) - 0x30;
  const d1 = head.charCodeAt(10) - 0x30;
  const d2 = head.charCodeAt(11) - 0x30;
  if (
    (minor !== 0x30 && minor !== 0x31) ||
    d0 < 1 ||
    d0 > 9 ||
    d1 < 0 ||
    d1 > 9 ||
    d2 < 0 ||
    d2 > 9 ||
    (eol > 12 && head.charCodeAt(12) !== 0x20)
  ) {
    throw protocol('malformed status line');
  }
  for (let i = 13; i < eol; i++) {
    const c = head.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw protocol('malformed status line');
  }
  return d0 * 100 + d1 * 10 + d2;
}

/** A Content-Length value (digits; a comma list whose members agree), checked against `prev`
 * (an earlier field's value, or -1). */
function lengthOf(value: string, prev: number): number {
  let out = prev;
  const parts = value.indexOf(',') === -1 ? [value] : value.split(',');
  for (let p = 0; p < parts.length; p++) {
    const v = trimOws(parts[p]);
    if (!DIGITS.test(v)) throw protocol('invalid Content-Length');
    const len = Number(v);
    if (out !== -1 && out !== len) throw protocol('conflicting Content-Length values');
    out = len;
  }
  return out;
}

function protocol(message: string): UpstreamProtocolError {
  return new UpstreamProtocolError(`upstream response: ${message}`);
}

function headTooLarge(): UpstreamProtocolError {
  return new UpstreamProtocolError('upstream response head too large', 'UPSTREAM_HEAD_TOO_LARGE');
}
