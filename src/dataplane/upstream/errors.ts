/**
 * Classifies an upstream failure reported by undici into a Legate error code, which decides the
 * local reply (status + response flag) when no response head has been sent yet. Called by the
 * exchange's `onError`; pure.
 *
 * The request's progress decides most of it (Envoy's router reasons the same way):
 * - `connected` false: undici never put the request on a connection (its `onConnect` did not run),
 *   so every failure is a connect failure: 503 UF.
 * - `responseStarted` false: the request went out but not one byte of a response came back before
 *   the connection closed or was reset. Envoy answers this 503 "upstream connect error or
 *   disconnect/reset before headers" (flag UC); Legate's registry carries that text on
 *   GW_ERR_UPSTREAM_CONNECT_FAILURE (503 UF), so the client sees the same status as Envoy's.
 * - a response had started: a reset or close before the head was complete is 502 UR; a response
 *   that does not parse (bad status line, bad header bytes, body shorter than its
 *   Content-Length) is 502 UPE; a head over `max_response_headers_kb` is 502 UPE with its own
 *   code. undici reports a parse error even when the first bytes are garbage, so "not one byte"
 *   only ever reaches the socket-error branch.
 * Timeouts undici enforces itself (its headers/body timers) keep their meaning whatever the phase.
 */
import type { ErrorCode } from '../../errors/codes.js';

function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string')
    return err.code;
  return '';
}

/**
 * `responseStarted` defaults to true (a failure after the request went out is a reset) for callers
 * that do not track undici's `onResponseStarted`.
 */
export function classifyUpstreamError(err: unknown, connected: boolean, responseStarted = true): ErrorCode {
  const code = codeOf(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'GW_ERR_UPSTREAM_CONNECT_TIMEOUT';
  if (!connected) return 'GW_ERR_UPSTREAM_CONNECT_FAILURE';
  if (code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return 'GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE';
  }
  if (
    code.startsWith('HPE_') ||
    (err instanceof Error && err.name === 'HTTPParserError') ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  ) {
    return 'GW_ERR_UPSTREAM_PROTOCOL';
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'GW_ERR_UPSTREAM_HEADERS_TIMEOUT';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'GW_ERR_UPSTREAM_TIMEOUT';
  return responseStarted ? 'GW_ERR_UPSTREAM_RESET' : 'GW_ERR_UPSTREAM_CONNECT_FAILURE';
}
