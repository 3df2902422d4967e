/**
 * Local replies: responses Legate writes itself when it cannot (or must not) proxy — no route,
 * no endpoint, upstream failure before the response head, timeouts, bad requests.
 *
 * Called by the exchange. Body is `<message>\n` in text/plain (Envoy style); bodies are encoded
 * once per code at load, not per request. Every reply is counted per error code in DataPlaneStats.
 *
 * Invariant: a local reply is only possible before the response head went out. After that, the
 * only honest signal is to abort the client connection (`abortResponse`), so the client sees a
 * truncated response instead of a clean end.
 */
import type { ServerResponse } from 'node:http';
import { type ErrorCode, ErrorCodes } from '../../errors/codes.js';
import type { DataPlaneStats } from '../stats.js';

const BODIES = new Map<ErrorCode, Buffer>();
for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
  BODIES.set(code, Buffer.from(`${ErrorCodes[code].message}\n`, 'utf8'));
}

export function localReplyStatus(code: ErrorCode): number {
  const info = ErrorCodes[code] as { httpStatus?: number };
  return info.httpStatus ?? 500;
}

/**
 * Writes the reply for `code` (status from the registry) unless the head was already sent, in
 * which case the connection is aborted. `message` overrides the registry text.
 */
export function sendLocalReply(
  res: ServerResponse,
  code: ErrorCode,
  ctx: { readonly stats: DataPlaneStats; readonly serverName: string | null; readonly message?: string },
): void {
  ctx.stats.localReply(code);
  if (res.headersSent) {
    abortResponse(res);
    return;
  }
  if (res.destroyed) return;
  const body = ctx.message === undefined ? BODIES.get(code)! : Buffer.from(`${ctx.message}\n`, 'utf8');
  const head: string[] = ['content-type', 'text/plain', 'content-length', String(body.length)];
  if (ctx.serverName !== null) head.push('server', ctx.serverName);
  res.writeHead(localReplyStatus(code), head);
  res.end(body);
}

/** Aborts the client connection mid-response so the truncation is visible to the client. */
export function abortResponse(res: ServerResponse): void {
  res.destroy();
}
