/**
 * BodyLimiter: counts a streamed (chunked) request body on its way to the upstream and stops it at
 * the route's `max_request_body_bytes`.
 *
 * Used by the exchange only for bodies without a Content-Length on routes with a limit, so a
 * request that declares its length, or a route without a limit, pays nothing. It passes chunks
 * through unchanged (backpressure is the Transform's own: the upstream reads it, it reads the
 * client). When a chunk takes the count over the limit, the sink is told first (it answers the
 * client and aborts the upstream request), then the limiter errors with GW_ERR_BODY_TOO_LARGE, so
 * the upstream never receives a body that looks complete. The chunk that crossed the limit is never
 * forwarded.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { GatewayError } from '../../errors/gateway-error.js';

export interface BodyLimitSink {
  /** Called once, before the limiter errors. */
  onBodyTooLarge(limiter: BodyLimiter): void;
}

export class BodyLimiter extends Transform {
  #remaining: number;
  readonly #sink: BodyLimitSink;

  /** `limit` in bytes, > 0. */
  constructor(limit: number, sink: BodyLimitSink) {
    super();
    this.#remaining = limit;
    this.#sink = sink;
    // The sink hears of the overflow first; the error is for whoever consumes the stream, and the
    // limit can be crossed before anyone does (the upstream connection is still opening).
    this.on('error', () => {});
  }

  /** Bytes passed so far may still grow by this much. */
  get remaining(): number {
    return this.#remaining;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#remaining -= chunk.length;
    if (this.#remaining < 0) {
      this.#sink.onBodyTooLarge(this);
      callback(new GatewayError('GW_ERR_BODY_TOO_LARGE'));
      return;
    }
    callback(null, chunk);
  }
}
