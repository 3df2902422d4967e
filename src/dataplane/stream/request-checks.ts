/**
 * Request framing checks node's parser leaves to us. llhttp (node 20, strict mode) already refuses
 * Content-Length with Transfer-Encoding, duplicate or malformed Content-Length, obsolete line
 * folding, bad bytes in names and values, bare CR/LF and bad chunk sizes; those never reach the
 * stream (the listener's `clientError` handler answers them). What it accepts but a proxy must not
 * forward, because another HTTP implementation in the chain could frame the same bytes differently
 * (HTTP/1.1 RFC 9112 §6.1, §6.3, §3.2):
 * - a version other than HTTP/1.0 or HTTP/1.1 (llhttp takes a missing version as 0.9 and parses
 *   `HTTP/2.0` over HTTP/1 as if it were 1.x);
 * - Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty);
 * - Transfer-Encoding whose value is anything but the single coding `chunked` (`gzip, chunked`,
 *   `,chunked`), or Transfer-Encoding sent on more than one field line (`""` then `chunked`).
 *   Legate regenerates the upstream framing, so it could not pass another coding on faithfully;
 *   Envoy refuses these too;
 * - more than one Host field line, or a Host with bytes outside RFC 3986's authority set (RFC 9112
 *   §3.2: answer 400). node keeps the first Host and drops the rest, while another hop may use the
 *   last, so routing and the upstream could disagree on the host;
 * - an HTTP/1.1 request without Host (RFC 9112 §3.2). The listener turns node's own
 *   `requireHostHeader` off (it answers a bare 400 without the flag or body), so this check is the
 *   one that answers.
 *
 * Called by `exchange.ts` at the very start of a request (`refuseAmbiguousFraming`), before the
 * snapshot is read. Cost on a normal request: one pass over `rawHeaders` comparing name lengths
 * first (no lower-casing unless the length matches), one pass over the Host value.
 *
 * Invariant: once a request on a connection is refused, every later request that node already
 * parsed from the same connection (pipelined behind it) is refused too and never forwarded: the
 * bytes after an ambiguous request cannot be trusted, which is why the connection is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { DataPlaneStats } from '../stats.js';
import { sendLocalReply } from './local-reply.js';

/** The parts of node's IncomingMessage the checks read (a plain object in unit tests). */
export interface FramingInput {
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** `[name, value, name, value…]` as sent (names in their original case). */
  readonly rawHeaders: readonly string[];
}

/** Why a request was refused; null when its framing is unambiguous. */
export const FramingProblem = {
  /** Not HTTP/1.0 or HTTP/1.1. */
  Version: 'unsupported HTTP version',
  /** Transfer-Encoding on an HTTP/1.0 request. */
  TransferEncodingHttp10: 'transfer-encoding in an HTTP/1.0 request',
  /** Transfer-Encoding other than one `chunked`, or on several field lines. */
  TransferEncoding: 'transfer-encoding other than chunked',
  /** Content-Length together with Transfer-Encoding (node refuses it first; kept as a backstop). */
  ContentLengthWithTransferEncoding: 'content-length with transfer-encoding',
  /** Several Host field lines. */
  DuplicateHost: 'more than one host header',
  /** Host with bytes that cannot be in an authority. */
  InvalidHost: 'invalid host header',
  /** HTTP/1.1 without Host. */
  MissingHost: 'missing host header',
} as const;
export type FramingProblem = (typeof FramingProblem)[keyof typeof FramingProblem];

const CHUNKED = 'chunked';

/** `chunked`, in any letter case, with optional whitespace (SP / HTAB) around it. */
function isChunked(value: string): boolean {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  if (end - start !== CHUNKED.length) return false;
  for (let i = 0; i < CHUNKED.length; i++) {
    if ((value.charCodeAt(start + i) | 0x20) !== CHUNKED.charCodeAt(i)) return false;
  }
  return true;
}

/** Case-insensitive compare of a header name against a lower-case ASCII name. */
function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * RFC 3986 authority characters for a Host value (`uri-host [":" port]`): unreserved, sub-delims,
 * `%` of pct-encoded, `:` and the brackets of an IP literal. `@` (userinfo) is not allowed in Host.
 */
const HOST_CHARS = (() => {
  const t = new Uint8Array(128);
  const allowed = "-._~!$&'()*+,;=%:[]";
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (let i = 0; i < allowed.length; i++) t[allowed.charCodeAt(i)] = 1;
  return t;
})();

function isValidHost(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || HOST_CHARS[c] === 0) return false;
  }
  return true;
}

/**
 * Checks one parsed request's framing; returns null when it may be forwarded, else the problem.
 * Pure: reads only its argument.
 */
export function checkRequestFraming(req: FramingInput): FramingProblem | null {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) return FramingProblem.Version;
  const raw = req.rawHeaders;
  let te = 0;
  let hosts = 0;
  let contentLength = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    // Names of interest have lengths 4, 14 and 17; everything else costs one length compare.
    const len = name.length;
    if (len === 17 && nameIs(name, 'transfer-encoding')) {
      te++;
      if (te > 1 || !isChunked(raw[i + 1])) return FramingProblem.TransferEncoding;
    } else if (len === 4 && nameIs(name, 'host')) {
      hosts++;
      if (hosts > 1) return FramingProblem.DuplicateHost;
      if (!isValidHost(raw[i + 1])) return FramingProblem.InvalidHost;
    } else if (len === 14 && nameIs(name, 'content-length')) {
      contentLength = true;
    }
  }
  if (te > 0) {
    if (req.httpVersionMinor === 0) return FramingProblem.TransferEncodingHttp10;
    if (contentLength) return FramingProblem.ContentLengthWithTransferEncoding;
  }
  if (hosts === 0 && req.httpVersionMinor === 1) return FramingProblem.MissingHost;
  return null;
}

/** Connections on which a request was refused; later requests parsed from them are refused too. */
const refusedConnections = new WeakSet<Socket>();

/**
 * The exchange's entry check: when the request's framing is ambiguous (or an earlier request on
 * its connection was), answers 400 `GW_ERR_BAD_REQUEST` with `Connection: close` and returns true;
 * the caller must then do nothing more with the request. Returns false for a request to process.
 */
export function refuseAmbiguousFraming(
  req: IncomingMessage,
  res: ServerResponse,
  stats: DataPlaneStats,
): boolean {
  const socket = req.socket;
  if (!refusedConnections.has(socket)) {
    if (checkRequestFraming(req) === null) return false;
    refusedConnections.add(socket);
  }
  sendLocalReply(res, 'GW_ERR_BAD_REQUEST', { stats, serverName: null, close: true });
  return true;
}
