/**
 * The one base class for everything Legate throws at runtime (configuration problems are data,
 * not exceptions: see resources/types.ts Condition). Each error carries a stable code from the
 * registry, and, when it turns into a local reply, its HTTP status and response flag.
 * (undici core/errors.js, fastify lib/errors.js.)
 */
import { type ErrorCode, ErrorCodes } from './codes.js';

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number | undefined;
  readonly flag: string | undefined;

  constructor(code: ErrorCode, options: { message?: string; cause?: unknown } = {}) {
    const info = ErrorCodes[code];
    super(
      options.message ?? info.message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'GatewayError';
    this.code = code;
    this.httpStatus = 'httpStatus' in info ? info.httpStatus : undefined;
    this.flag = 'flag' in info ? info.flag : undefined;
  }
}
