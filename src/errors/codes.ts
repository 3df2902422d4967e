/**
 * The registry of every GW_ERR_* code. `docs/errors.md` documents each one, and a test checks the
 * two agree. Codes are never reused once retired.
 */
export interface ErrorCodeInfo {
  /** Default message. */
  readonly message: string;
  /** Status used when the error becomes a local reply; absent for errors that never reach a client. */
  readonly httpStatus?: number;
  /** Short response flag shown in access logs and metrics (Envoy-style), when it is a local reply. */
  readonly flag?: string;
}

export const ErrorCodes = {
  GW_ERR_NO_ROUTE: { message: 'no route matches this request', httpStatus: 404, flag: 'NR' },
  GW_ERR_NO_HEALTHY_UPSTREAM: { message: 'no healthy upstream', httpStatus: 503, flag: 'UH' },
  GW_ERR_UPSTREAM_CONNECT_FAILURE: {
    message: 'upstream connect error or disconnect/reset before headers',
    httpStatus: 503,
    flag: 'UF',
  },
  GW_ERR_UPSTREAM_CONNECT_TIMEOUT: { message: 'upstream connect timeout', httpStatus: 503, flag: 'UF' },
  GW_ERR_UPSTREAM_TIMEOUT: { message: 'upstream request timeout', httpStatus: 504, flag: 'UT' },
  GW_ERR_UPSTREAM_IDLE_TIMEOUT: { message: 'stream idle timeout', httpStatus: 504, flag: 'SI' },
  GW_ERR_UPSTREAM_RESET: { message: 'upstream reset the connection', httpStatus: 502, flag: 'UR' },
  GW_ERR_UPSTREAM_PROTOCOL: { message: 'upstream sent an invalid response', httpStatus: 502, flag: 'UPE' },
  GW_ERR_BAD_REQUEST: { message: 'bad request', httpStatus: 400, flag: 'DPE' },
  GW_ERR_HEADERS_TOO_LARGE: {
    message: 'request headers too large',
    httpStatus: 431,
    flag: 'DPE',
  },
  GW_ERR_URI_TOO_LONG: { message: 'request URI too long', httpStatus: 414, flag: 'DPE' },
  GW_ERR_BODY_TOO_LARGE: { message: 'request body too large', httpStatus: 413, flag: 'DPE' },
  GW_ERR_REQUEST_TIMEOUT: { message: 'request timeout', httpStatus: 408, flag: 'DPE' },
  GW_ERR_UPSTREAM_HEADERS_TIMEOUT: {
    message: 'upstream response headers timeout',
    httpStatus: 504,
    flag: 'UT',
  },
  GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE: {
    message: 'upstream response too large',
    httpStatus: 502,
    flag: 'UPE',
  },
  GW_ERR_INTERNAL: { message: 'internal error in the gateway', httpStatus: 500, flag: 'LE' },
  GW_ERR_DOWNSTREAM_RESET: { message: 'client closed the connection', flag: 'DC' },
  GW_ERR_CONFIG_LOAD: { message: 'configuration could not be loaded' },
  GW_ERR_BOOTSTRAP: { message: 'invalid startup settings' },
  GW_ERR_LISTEN: { message: 'the proxy listener could not be opened' },
  GW_ERR_KUBERNETES_API: { message: 'a Kubernetes API request failed' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ErrorCodes;
