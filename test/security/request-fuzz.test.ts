/**
 * Property test of the request path over raw sockets: random bytes and mutated requests (bytes
 * inserted, deleted or replaced, header lines duplicated, control characters in names and values,
 * odd framing headers) sent to a real gateway in front of an upstream that parses HTTP/1.1 itself.
 *
 * Whatever arrives, the client reads only well-formed responses (a status Legate or the upstream
 * gives, every local reply with its flag, no stray bytes after the last response), the upstream
 * never receives bytes that are not valid HTTP/1.1 framing, and the gateway stays healthy.
 * `LEGATE_FC_RUNS` / `LEGATE_FC_SEED` scale or replay the run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import {
  ambassadorModule,
  docs,
  mapping,
  startTestGateway,
  type TestGateway,
} from '../integration/gateway-harness.js';
import { header, type RecordingUpstream, rawExchange, startRecordingUpstream } from './wire.js';

const RUNS = Number(process.env.LEGATE_FC_RUNS ?? 80);
const SEED = process.env.LEGATE_FC_SEED === undefined ? undefined : Number(process.env.LEGATE_FC_SEED);

/** Statuses a client may see here: the upstream's 200, node's interim 100, Legate's local replies. */
const ALLOWED = new Set([100, 200, 400, 404, 408, 413, 414, 431]);

let gw: TestGateway;
let up: RecordingUpstream;
let port: number;

before(async () => {
  up = await startRecordingUpstream();
  gw = await startTestGateway({
    'routes.yaml': docs(
      mapping('all', { prefix: '/', service: `127.0.0.1:${up.port}` }),
      // Short limits so that incomplete heads and bodies are answered quickly (408), idle
      // keep-alive connections close soon, and large random inputs meet the size limits.
      ambassadorModule({
        request_headers_timeout_ms: 300,
        listener_idle_timeout_ms: 300,
        request_timeout_ms: 600,
        max_request_headers_kb: 4,
        max_request_headers_count: 30,
        max_request_url_bytes: 512,
        max_request_body_bytes: 2048,
      }),
    ),
  });
  port = Number(new URL(gw.url).port);
});

after(async () => {
  await gw.close();
  await up.close();
});

const TOKENS = [
  'GET',
  'POST',
  'PUT',
  ' ',
  '\r\n',
  '\n',
  '\r',
  '\t',
  ':',
  ',',
  '/',
  '..',
  '%2e',
  '%2F',
  '\\',
  '\0',
  '\x7f',
  '\xff',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/2.0',
  'Host: gw.test',
  'Content-Length: 5',
  'Content-Length: 0',
  'Content-Length: -1',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip',
  'Connection: close',
  'Connection: keep-alive, x-a',
  'Expect: 100-continue',
  '0\r\n\r\n',
  '5\r\nhello\r\n',
  'zz\r\n',
  'x-envoy-foo: 1',
  ' folded',
];

const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const headerValue = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...TOKENS));

/** A request that is valid to start with. */
const baseRequest = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
    path: fc.constantFrom('/', '/a/b', '/a/../b', '/%2e%2e/x', '//x', '/q?x=1&y=%20', '/a;b'),
    extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
    body: fc.oneof(
      fc.constant(null),
      fc.string({ maxLength: 40 }).map((b) => ({ chunked: false, b })),
      fc.string({ maxLength: 40 }).map((b) => ({ chunked: true, b })),
    ),
  })
  .map(({ method, path, extra, body }) => {
    let head = `${method} ${path} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n`;
    for (const [n, v] of extra) head += `${n}: ${v}\r\n`;
    if (body === null) return `${head}\r\n`;
    if (!body.chunked) return `${head}Content-Length: ${body.b.length}\r\n\r\n${body.b}`;
    const chunk = body.b.length === 0 ? '' : `${body.b.length.toString(16)}\r\n${body.b}\r\n`;
    return `${head}Transfer-Encoding: chunked\r\n\r\n${chunk}0\r\n\r\n`;
  });

type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'duplicate-line'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ minLength: 1, maxLength: 2 })),
  }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const at = text.length === 0 ? 0 : m.at % text.length;
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'replace':
      return text.slice(0, at) + m.text + text.slice(at + m.text.length);
    case 'duplicate-line': {
      const lines = text.split('\r\n');
      const i = 1 + (m.at % Math.max(1, lines.length - 2));
      if (i >= lines.length) return text;
      lines.splice(i, 0, lines[i]);
      return lines.join('\r\n');
    }
  }
}

/** One byte per char (latin1), as rawExchange writes it. */
const randomBytes = fc
  .uint8Array({ minLength: 1, maxLength: 200 })
  .map((bytes) => Buffer.from(bytes).toString('latin1'));

const input = fc.oneof(
  { weight: 1, arbitrary: randomBytes },
  { weight: 1, arbitrary: baseRequest },
  {
    weight: 4,
    arbitrary: fc
      .tuple(baseRequest, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([req, ms]) => ms.reduce(mutate, req)),
  },
);

async function healthy(): Promise<void> {
  const res = await request(`${gw.url}/health/check`, { headers: { connection: 'close' } });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  const ready = await request(`${gw.adminUrl}/ready`);
  assert.equal(ready.statusCode, 200);
  await ready.body.dump();
}

test('random and mutated requests: only well-formed replies, valid upstream framing, a healthy gateway', async () => {
  await healthy();
  let localReplies = 0;
  await fc.assert(
    fc.asyncProperty(input, async (payload) => {
      const r = await rawExchange(port, payload, 3000);
      assert.ok(r.closedByPeer, `the gateway ends the exchange by itself: ${JSON.stringify(payload)}`);
      // A response to HEAD has no body whatever its Content-Length, which the raw reader cannot
      // know; HEAD is left out of the generator, and a mutation that makes one is judged by status.
      const head = payload.startsWith('HEAD');
      if (!head) assert.equal(r.rest, '', `no stray bytes after the responses: ${JSON.stringify(r.rest)}`);
      for (const res of r.responses) {
        assert.ok(ALLOWED.has(res.status), `status ${res.statusLine} for ${JSON.stringify(payload)}`);
        if (res.status >= 400 && !head) {
          localReplies++;
          assert.ok(
            header(res, 'x-legate-response-flags'),
            `a local reply names its flag: ${res.statusLine}`,
          );
          assert.equal(header(res, 'content-type'), 'text/plain');
        }
      }
      assert.deepEqual(up.malformed, [], 'the upstream never received invalid framing');
    }),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  // The generator must reach the refusal paths, or the property says little.
  assert.ok(localReplies > RUNS / 10, `only ${localReplies} local replies in ${RUNS} runs`);
  await healthy();
});
