/**
 * Classifies an upstream failure reported by the upstream connection (http1-connection.ts, pool.ts,
 * http1-response.ts) into a Legate error code, which decides the local reply (status + response
 * flag) when no response head has been sent yet. Called by the exchange's `onError`; pure.
 *
 * The request's progress decides most of it (Envoy's router reasons the same way):
 * - `connected` false: the request never reached a connected socket (the handler's `onConnect` did
 *   not run), so every failure is a connect failure: 503 UF; a connect timeout has its own code.
 * - `responseStarted` false: the request went out but not one byte of a response came back before
 *   the connection closed or was reset. Envoy answers this 503 "upstream connect error or
 *   disconnect/reset before headers" (flag UC); Legate's registry carries that text on
 *   GW_ERR_UPSTREAM_CONNECT_FAILURE (503 UF), so the client sees the same status as Envoy's.
 * - a response had started: a reset or close before it was complete is 502 UR; a response that
 *   does not parse (bad status line, bad header bytes, bad chunk framing) is 502 UPE; a head over
 *   `max_response_headers_kb` is 502 UPE with its own code. The parser reports garbage first bytes
 *   as a parse error, so "not one byte" only ever reaches the socket-error branch.
 */
import type { ErrorCode } from '../../errors/codes.js';

function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string')
    return err.code;
  return '';
}

/**
 * `responseStarted` defaults to true (a failure after the request went out is a reset) for callers
 * that do not track the first response byte.
 */
export function classifyUpstreamError(err: unknown, connected: boolean, responseStarted = true): ErrorCode {
  const code = codeOf(err);
  if (code === 'UPSTREAM_CONNECT_TIMEOUT') return 'GW_ERR_UPSTREAM_CONNECT_TIMEOUT';
  if (!connected) return 'GW_ERR_UPSTREAM_CONNECT_FAILURE';
  if (code === 'UPSTREAM_HEAD_TOO_LARGE') return 'GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE';
  if (code === 'UPSTREAM_PROTOCOL') return 'GW_ERR_UPSTREAM_PROTOCOL';
  return responseStarted ? 'GW_ERR_UPSTREAM_RESET' : 'GW_ERR_UPSTREAM_CONNECT_FAILURE';
}
