/**
 * Upstream failure matrix over real sockets: raw `net` upstreams that do exactly one wrong thing
 * (refuse, close or reset before a byte, reset inside the head or the body, send garbage or bad
 * header bytes, short or long bodies, an oversized head, never answer), plus an endpoint removed
 * while requests are in flight. Each case asserts the exact status, `x-legate-response-flags` and
 * body the client gets (or that a started response is cut, never cleanly ended), and then that the
 * same endpoint, behaving again, answers 200 through the same gateway: the pool recovered.
 *
 * Runs the data plane in this process (dataplane-harness) so its counters and cluster state can be
 * inspected; the child-process leak check is upstream-leaks.test.ts.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Agent, request } from 'undici';
import { cluster, irRoute, snapshotOf, startPlane } from '../integration/dataplane-harness.js';
import { onRequestHeads } from './wire.js';

/** What a raw upstream does with each request head it reads. */
type Behaviour = (sock: Socket, head: string) => void;

const OK_BODY = 'healthy';
const healthy: Behaviour = (sock) => {
  sock.write(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${OK_BODY.length}\r\n\r\n${OK_BODY}`,
  );
};

interface RawUpstream {
  readonly port: number;
  behaviour: Behaviour;
  /** Request heads read so far. */
  heads: number;
  /** Sockets currently open. */
  readonly open: Set<Socket>;
  /** Stops listening and destroys every socket. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

/** A raw HTTP/1.1 upstream: reads request heads (GET only, no bodies) and lets `behaviour` answer. */
async function rawUpstream(t: TestContext, behaviour: Behaviour = healthy, port = 0): Promise<RawUpstream> {
  const open = new Set<Socket>();
  const up = {
    port,
    behaviour,
    heads: 0,
    open,
    server: null as Server | null,
    async restart(): Promise<void> {
      const server = createServer((sock) => {
        open.add(sock);
        sock.on('close', () => open.delete(sock));
        sock.on('error', () => {});
        onRequestHeads(sock, (head) => {
          up.heads++;
          up.behaviour(sock, head);
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(up.port, '127.0.0.1', () => resolve());
      });
      up.port = (server.address() as AddressInfo).port;
      up.server = server;
    },
    async stop(): Promise<void> {
      const server = up.server;
      up.server = null;
      for (const s of open) s.destroy();
      if (server !== null) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  await up.restart();
  t.after(() => up.stop());
  return up;
}

interface Reply {
  readonly status: number;
  readonly flag: string | undefined;
  readonly contentType: string | undefined;
  readonly text: string;
}

/** A client that accepts large response heads (undici's default limit is node's 16 KiB). */
function bigHeadClient(t: TestContext): Agent {
  const agent = new Agent({ maxHeaderSize: 512 * 1024, keepAliveTimeout: 10_000 });
  t.after(() => agent.close());
  return agent;
}

async function fetchReply(url: string, dispatcher?: Agent): Promise<Reply> {
  const res = await request(url, dispatcher === undefined ? {} : { dispatcher });
  const flag = res.headers['x-legate-response-flags'];
  const ct = res.headers['content-type'];
  return {
    status: res.statusCode,
    flag: typeof flag === 'string' ? flag : undefined,
    contentType: typeof ct === 'string' ? ct : undefined,
    text: await res.body.text(),
  };
}

function assertLocalReply(r: Reply, status: number, flag: string, body: string): void {
  assert.deepEqual(
    { status: r.status, flag: r.flag, contentType: r.contentType, text: r.text },
    { status, flag, contentType: 'text/plain', text: `${body}\n` },
  );
}

/** The endpoint behaves again: the next request through the same gateway must succeed. */
async function assertRecovers(url: string, up: RawUpstream, dispatcher?: Agent): Promise<void> {
  up.behaviour = healthy;
  const r = await fetchReply(url, dispatcher);
  assert.deepEqual(
    { status: r.status, flag: r.flag, text: r.text },
    { status: 200, flag: undefined, text: OK_BODY },
  );
}

/** A plane with one route `/` to a one-endpoint cluster `c` on `port`. */
async function planeFor(t: TestContext, port: number, timeoutMs = 3000) {
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c', timeoutMs }] })], [cluster('c', [port])]);
  return startPlane(t, snap, { timerTickMs: 10 });
}

const UF = ['UF', 'upstream connect error or disconnect/reset before headers'] as const;
const UR = ['UR', 'upstream reset the connection'] as const;
const UPE = ['UPE', 'upstream sent an invalid response'] as const;

test('connect refused: 503 UF; the endpoint listening again answers', async (t) => {
  const up = await rawUpstream(t);
  await up.stop();
  const { url, plane } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 503, ...UF);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_CONNECT_FAILURE'), 1);
  await up.restart();
  await assertRecovers(`${url}/`, up);
});

test('accepted, then closed (FIN) before any byte: 503 UF, as Envoy', async (t) => {
  const up = await rawUpstream(t, (sock) => sock.end());
  const { url, plane } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 503, ...UF);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_CONNECT_FAILURE'), 1);
  await assertRecovers(`${url}/`, up);
});

test('accepted, then reset (RST) before any byte: 503 UF', async (t) => {
  const up = await rawUpstream(t, (sock) => sock.resetAndDestroy());
  const { url } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 503, ...UF);
  await assertRecovers(`${url}/`, up);
});

test('reset inside the response head: 502 UR', async (t) => {
  const up = await rawUpstream(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/pl', () =>
      setTimeout(() => sock.resetAndDestroy(), 10),
    );
  });
  const { url, plane } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 502, ...UR);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_RESET'), 1);
  await assertRecovers(`${url}/`, up);
});

test('closed inside the response head: 502 UR', async (t) => {
  const up = await rawUpstream(t, (sock) => sock.end('HTTP/1.1 200 OK\r\ncontent-len'));
  const { url } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 502, ...UR);
  await assertRecovers(`${url}/`, up);
});

test('reset mid-body: the client sees 200 and then an aborted body, never a clean end', async (t) => {
  const up = await rawUpstream(t, (sock) => {
    sock.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n');
    sock.write(Buffer.alloc(4000, 0x61), () => setTimeout(() => sock.resetAndDestroy(), 20));
  });
  const { url, plane } = await planeFor(t, up.port);
  const res = await request(`${url}/`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-length'], '100000');
  let received = 0;
  await assert.rejects(async () => {
    for await (const chunk of res.body) received += (chunk as Buffer).length;
  });
  assert.ok(received < 100000, `received ${received}`);
  assert.equal(plane.stats.downstreamAborts, 1);
  await assertRecovers(`${url}/`, up);
});

test('garbage instead of a status line: 502 UPE', async (t) => {
  const up = await rawUpstream(t, (sock) => sock.write('\x16\x03\x01 this is not http\r\n\r\n'));
  const { url, plane } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 502, ...UPE);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_PROTOCOL'), 1);
  await assertRecovers(`${url}/`, up);
});

test('invalid status line (HTTP/1.1 abc): 502 UPE', async (t) => {
  const up = await rawUpstream(t, (sock) => sock.write('HTTP/1.1 abc OK\r\ncontent-length: 0\r\n\r\n'));
  const { url } = await planeFor(t, up.port);
  assertLocalReply(await fetchReply(`${url}/`), 502, ...UPE);
  await assertRecovers(`${url}/`, up);
});

for (const [name, line] of [
  ['a space in a header name', 'bad name: v'],
  ['a control byte in a header name', 'bad\x01name: v'],
  ['a NUL in a header value', 'x-v: a\x00b'],
  ['obsolete line folding', 'x-v: a\r\n folded'],
  ['a header line without a colon', 'no-colon-here'],
] as const) {
  test(`invalid header bytes (${name}): 502 UPE`, async (t) => {
    const up = await rawUpstream(t, (sock) =>
      sock.write(`HTTP/1.1 200 OK\r\n${line}\r\ncontent-length: 2\r\n\r\nok`),
    );
    const { url } = await planeFor(t, up.port);
    assertLocalReply(await fetchReply(`${url}/`), 502, ...UPE);
    await assertRecovers(`${url}/`, up);
  });
}

test('Content-Length mismatch, body shorter and then close: the client sees the response cut', async (t) => {
  const up = await rawUpstream(t, (sock) =>
    sock.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly-ten!!'),
  );
  const { url, plane } = await planeFor(t, up.port);
  const res = await request(`${url}/`);
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.text());
  assert.equal(plane.stats.downstreamAborts, 1);
  await assertRecovers(`${url}/`, up);
});

test('Content-Length mismatch, body longer: the client gets exactly Content-Length bytes, the extra never reaches the next request', async (t) => {
  const up = await rawUpstream(t, (sock) => {
    sock.write(
      'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfourHTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled',
    );
  });
  const { url } = await planeFor(t, up.port);
  const first = await fetchReply(`${url}/`);
  assert.deepEqual({ status: first.status, text: first.text }, { status: 200, text: 'four' });
  // The smuggled "response" must not answer the next request: the pool retires the connection that
  // carried bytes after a complete response, so the next request gets a fresh one and the healthy
  // answer.
  await new Promise((r) => setTimeout(r, 20));
  await assertRecovers(`${url}/`, up);
});

test('response head over max_response_headers_kb (default 60): 502 UPE "response too large"; just under passes', async (t) => {
  let size = 70 * 1024;
  const big: Behaviour = (sock) =>
    sock.write(`HTTP/1.1 200 OK\r\nx-big: ${'b'.repeat(size)}\r\ncontent-length: 2\r\n\r\nok`);
  const up = await rawUpstream(t, big);
  const { url, plane } = await planeFor(t, up.port);
  const agent = bigHeadClient(t);
  assertLocalReply(await fetchReply(`${url}/`, agent), 502, 'UPE', 'upstream response too large');
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE'), 1);
  size = 50 * 1024;
  up.behaviour = big;
  const under = await fetchReply(`${url}/`, agent);
  assert.equal(under.status, 200);
  assert.equal(under.text, 'ok');
  await assertRecovers(`${url}/`, up, agent);
});

test('a changed max_response_headers_kb reaches the pools on the next snapshot', async (t) => {
  const big: Behaviour = (sock) =>
    sock.write(`HTTP/1.1 200 OK\r\nx-big: ${'b'.repeat(8 * 1024)}\r\ncontent-length: 2\r\n\r\nok`);
  const up = await rawUpstream(t, big);
  const routes = [irRoute(0, { targets: [{ cluster: 'c' }] })];
  const clusters = [cluster('c', [up.port])];
  const { url, swap } = await startPlane(t, snapshotOf(routes, clusters, { maxResponseHeadersKb: 4 }));
  const agent = bigHeadClient(t);
  assertLocalReply(await fetchReply(`${url}/`, agent), 502, 'UPE', 'upstream response too large');
  swap(snapshotOf(routes, clusters, { maxResponseHeadersKb: 16 }));
  const raised = await fetchReply(`${url}/`, agent);
  assert.equal(raised.status, 200);
  assert.equal(raised.text, 'ok');
  swap(snapshotOf(routes, clusters, { maxResponseHeadersKb: 4 }));
  assertLocalReply(await fetchReply(`${url}/`, agent), 502, 'UPE', 'upstream response too large');
});

test('response body over max_response_body_bytes: 502 UPE by Content-Length; a chunked one is cut when it crosses', async (t) => {
  const sized: Behaviour = (sock) =>
    sock.write(`HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n${'x'.repeat(2000)}`);
  const up = await rawUpstream(t, sized);
  const routes = [irRoute(0, { targets: [{ cluster: 'c' }] })];
  const clusters = [cluster('c', [up.port])];
  const { url, plane, swap } = await startPlane(
    t,
    snapshotOf(routes, clusters, { maxResponseBodyBytes: 1024 }),
  );
  assertLocalReply(await fetchReply(`${url}/`), 502, 'UPE', 'upstream response too large');
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE'), 1);

  // Without a length, the head is already on its way; crossing the limit cuts the client connection.
  up.behaviour = (sock) => {
    sock.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
    for (let i = 0; i < 4; i++) sock.write(`200\r\n${'y'.repeat(512)}\r\n`);
    sock.write('0\r\n\r\n');
  };
  // The client must not see a clean end: either the head and part of the body then a cut, or (when
  // everything arrived in one read, before node flushed the head) the connection closing at once.
  await assert.rejects(async () => {
    const res = await request(`${url}/`);
    assert.equal(res.statusCode, 200);
    await res.body.text();
  }, 'the client sees a failed response, not a complete one');
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE'), 2);

  // Just under the limit passes, and a raised limit applies on the next snapshot.
  up.behaviour = (sock) => sock.write(`HTTP/1.1 200 OK\r\ncontent-length: 1024\r\n\r\n${'z'.repeat(1024)}`);
  assert.equal((await fetchReply(`${url}/`)).text.length, 1024);
  up.behaviour = sized;
  swap(snapshotOf(routes, clusters, { maxResponseBodyBytes: 4096 }));
  assert.equal((await fetchReply(`${url}/`)).text.length, 2000);
  await assertRecovers(`${url}/`, up);
  assert.equal(plane.clusters.get('c')!.inflight, 0);
});

test('upstream never answers: 504 UT at timeout_ms, and the upstream connection is closed', async (t) => {
  const stuck: Socket[] = [];
  const up = await rawUpstream(t, (sock) => stuck.push(sock));
  const { url, plane } = await planeFor(t, up.port, 150);
  const started = performance.now();
  assertLocalReply(await fetchReply(`${url}/`), 504, 'UT', 'upstream request timeout');
  const took = performance.now() - started;
  assert.ok(took >= 145 && took < 1500, `took ${took} ms`);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_TIMEOUT'), 1);
  // The abandoned request's connection is aborted, not left for a late answer to land on, and the
  // request is not replayed.
  assert.equal(stuck.length, 1);
  for (let i = 0; i < 100 && !stuck[0].destroyed; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(stuck[0].destroyed, true);
  assert.equal(up.heads, 1);
  await assertRecovers(`${url}/`, up);
  assert.equal(up.heads, 2);
  assert.equal(plane.clusters.get('c')!.inflight, 0);
});

test('endpoint removed while requests are in flight: they finish, new requests go to the remaining endpoint, none left: 503 UH', async (t) => {
  const held: Socket[] = [];
  const a = await rawUpstream(t, (sock) => held.push(sock));
  const b = await rawUpstream(t);
  const routes = [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 5000 }] })];
  const { url, plane, swap } = await startPlane(t, snapshotOf(routes, [cluster('c', [a.port, b.port])]));
  // Round robin: of 6 concurrent requests, 3 reach A and wait there; B answers its 3.
  const inflight = [];
  for (let i = 0; i < 6; i++) inflight.push(fetchReply(`${url}/`));
  for (let i = 0; i < 200 && held.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(held.length, 3);

  swap(snapshotOf(routes, [cluster('c', [b.port])]));
  const bBefore = b.heads;
  for (let i = 0; i < 5; i++) {
    const r = await fetchReply(`${url}/`);
    assert.equal(r.status, 200);
  }
  assert.equal(b.heads - bBefore, 5, 'every new request went to the remaining endpoint');
  assert.equal(held.length, 3, 'none to the removed one');

  // The removed endpoint answers what it holds; the drained pool then closes its connections.
  for (const sock of held) healthy(sock, '');
  const results = await Promise.all(inflight);
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  for (let i = 0; i < 200 && a.open.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(a.open.size, 0, 'the removed endpoint pool closed its connections');

  swap(snapshotOf(routes, [cluster('c', [])]));
  assertLocalReply(await fetchReply(`${url}/`), 503, 'UH', 'no healthy upstream');
  swap(snapshotOf(routes, [cluster('c', [a.port])]));
  await assertRecovers(`${url}/`, a);
  assert.equal(plane.clusters.get('c')!.inflight, 0);
});

test('endpoint removed and killed while requests are in flight: they fail cleanly (503 UF), the gateway keeps serving', async (t) => {
  const held: Socket[] = [];
  const a = await rawUpstream(t, (sock) => held.push(sock));
  const b = await rawUpstream(t);
  const routes = [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 5000 }] })];
  const { url, plane, swap } = await startPlane(t, snapshotOf(routes, [cluster('c', [a.port, b.port])]));
  const inflight = [];
  for (let i = 0; i < 4; i++) inflight.push(fetchReply(`${url}/`));
  for (let i = 0; i < 200 && held.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(held.length, 2);
  swap(snapshotOf(routes, [cluster('c', [b.port])]));
  await a.stop();
  const results = await Promise.all(inflight);
  const failed = results.filter((r) => r.status !== 200);
  assert.equal(failed.length, 2);
  for (const r of failed) assertLocalReply(r, 503, ...UF);
  for (let i = 0; i < 4; i++) assert.equal((await fetchReply(`${url}/`)).status, 200);
  assert.equal(plane.clusters.get('c')!.inflight, 0);
});
