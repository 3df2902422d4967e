/**
 * Classifies an upstream failure reported by undici into a Legate error code, which decides the
 * local reply (status + response flag) when no response head has been sent yet.
 *
 * `connected` says whether undici had put the request on a connection (its `onConnect`
 * callback ran). Before that, every failure is a connect failure (503 UF, as Envoy); after it,
 * a socket error is a reset (502 UR) and a parse error an invalid response (502 UPE).
 */
import type { ErrorCode } from '../../errors/codes.js';

function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string')
    return err.code;
  return '';
}

export function classifyUpstreamError(err: unknown, connected: boolean): ErrorCode {
  const code = codeOf(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'GW_ERR_UPSTREAM_CONNECT_TIMEOUT';
  if (!connected) return 'GW_ERR_UPSTREAM_CONNECT_FAILURE';
  if (
    code.startsWith('HPE_') ||
    (err instanceof Error && err.name === 'HTTPParserError') ||
    code === 'UND_ERR_HEADERS_OVERFLOW' ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  ) {
    return 'GW_ERR_UPSTREAM_PROTOCOL';
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'GW_ERR_UPSTREAM_TIMEOUT';
  return 'GW_ERR_UPSTREAM_RESET';
}
