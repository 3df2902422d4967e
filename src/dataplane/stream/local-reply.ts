/**
 * Local replies: responses Legate writes itself when it cannot (or must not) proxy — no route,
 * no endpoint, upstream failure before the response head, timeouts, bad requests.
 *
 * Called by the exchange and the listener. Body is `<message>\n` in text/plain (Envoy style); bodies
 * are encoded once per code at load, not per request. Every reply is counted per error code in
 * DataPlaneStats and carries the code's response flag in `x-legate-response-flags` (the flags of
 * Envoy's access log: NR, UH, UF, UT, UR, UPE, DPE…), so a client or a test can tell a 503 from
 * a refused connection from a 503 the upstream sent itself.
 *
 * Invariant: a local reply is only possible before the response head went out. After that, the
 * only honest signal is to abort the client connection (`abortResponse`), so the client sees a
 * truncated response instead of a clean end.
 */
import type { ServerResponse } from 'node:http';
import { type ErrorCode, ErrorCodes } from '../../errors/codes.js';
import type { DataPlaneStats } from '../stats.js';

/** Response header carrying the local reply's response flag. */
export const RESPONSE_FLAGS_HEADER = 'x-legate-response-flags';

const BODIES = new Map<ErrorCode, Buffer>();
for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
  BODIES.set(code, Buffer.from(`${ErrorCodes[code].message}\n`, 'utf8'));
}

export function localReplyFlag(code: ErrorCode): string {
  const info = ErrorCodes[code] as { flag?: string };
  return info.flag ?? '-';
}

/** The body Legate sends for `code` (registry message + newline). */
export function localReplyBody(code: ErrorCode): Buffer {
  return BODIES.get(code)!;
}

export function localReplyStatus(code: ErrorCode): number {
  const info = ErrorCodes[code] as { httpStatus?: number };
  return info.httpStatus ?? 500;
}

/**
 * Writes the reply for `code` (status from the registry) unless the head was already sent, in
 * which case the connection is aborted. `message` overrides the registry text; `close` ends the
 * client connection after the reply (for requests whose remaining bytes cannot be trusted or read).
 */
export function sendLocalReply(
  res: ServerResponse,
  code: ErrorCode,
  ctx: {
    readonly stats: DataPlaneStats;
    readonly serverName: string | null;
    readonly message?: string;
    readonly close?: boolean;
  },
): void {
  ctx.stats.localReply(code);
  if (res.headersSent) {
    abortResponse(res);
    return;
  }
  if (res.destroyed) return;
  const body = ctx.message === undefined ? BODIES.get(code)! : Buffer.from(`${ctx.message}\n`, 'utf8');
  const head: string[] = [
    'content-type',
    'text/plain',
    'content-length',
    String(body.length),
    RESPONSE_FLAGS_HEADER,
    localReplyFlag(code),
  ];
  if (ctx.serverName !== null) head.push('server', ctx.serverName);
  if (ctx.close === true) {
    head.push('connection', 'close');
    res.shouldKeepAlive = false;
  }
  res.writeHead(localReplyStatus(code), head);
  res.end(body);
}

/** Aborts the client connection mid-response so the truncation is visible to the client. */
export function abortResponse(res: ServerResponse): void {
  res.destroy();
}
