import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { GatewayError } from '../../errors/gateway-error.js';
import { BodyLimiter } from './body-limit.js';

/** Pipes `chunks` through a limiter; resolves with what came out, the error and the sink calls. */
function run(
  limit: number,
  chunks: readonly string[],
): Promise<{ out: string; err: unknown; sinkCalls: number }> {
  return new Promise((resolve) => {
    let sinkCalls = 0;
    let out = '';
    const limiter = new BodyLimiter(limit, {
      onBodyTooLarge(l) {
        assert.equal(l, limiter);
        sinkCalls++;
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    Readable.from(chunks.map((c) => Buffer.from(c))).pipe(limiter);
    limiter.pipe(sink);
    limiter.on('error', (err) => resolve({ out, err, sinkCalls }));
    sink.on('finish', () => resolve({ out, err: null, sinkCalls }));
  });
}

test('a body up to the limit passes through unchanged', async () => {
  const r = await run(10, ['abc', 'defg', 'hij']);
  assert.deepEqual(r, { out: 'abcdefghij', err: null, sinkCalls: 0 });
});

test('the chunk that crosses the limit is not forwarded; the sink is told once, then the stream errors', async () => {
  const r = await run(10, ['abcde', 'fghijk', 'lmn']);
  assert.equal(r.out, 'abcde');
  assert.equal(r.sinkCalls, 1);
  assert.ok(r.err instanceof GatewayError);
  assert.equal(r.err.code, 'GW_ERR_BODY_TOO_LARGE');
});
