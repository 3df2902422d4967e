/**
 * Local replies and failure handling: 404 / 503 / 504 / 502, upstream death mid-response (client
 * sees an aborted response, gateway stays healthy), timeouts, connect refused, client disconnect
 * aborting the upstream request, and graceful close.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { cluster, get, irRoute, snapshotOf, startOrigin, startPlane } from './dataplane-harness.js';

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('404 when no route matches: plain-text body, counted', async (t) => {
  const snap = snapshotOf([irRoute(0, { path: '/only/', targets: [{ cluster: 'c' }] })], [cluster('c', [])], {
    serverName: 'legate',
  });
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/elsewhere');
  assert.equal(res.status, 404);
  assert.equal(res.text, 'no route matches this request\n');
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(res.headers.server, 'legate');
  assert.equal(plane.stats.localReplyCount('GW_ERR_NO_ROUTE'), 1);
});

test('503 when the cluster has no endpoints', async (t) => {
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [])]);
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/');
  assert.equal(res.status, 503);
  assert.equal(res.text, 'no healthy upstream\n');
  assert.equal(plane.stats.localReplyCount('GW_ERR_NO_HEALTHY_UPSTREAM'), 1);
});

test('503 when the upstream refuses the connection', async (t) => {
  const port = await freePort();
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [port])]);
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/');
  assert.equal(res.status, 503);
  assert.match(res.text, /upstream connect error/);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_CONNECT_FAILURE'), 1);
});

test('504 when timeout_ms passes before the response head; the upstream request is aborted', async (t) => {
  let upstreamClosed: () => void = () => {};
  const closed = new Promise<void>((r) => {
    upstreamClosed = r;
  });
  const origin = await startOrigin(t, (req) => {
    req.resume();
    req.socket.once('close', () => upstreamClosed());
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 150 }] })],
    [cluster('c', [origin.port])],
  );
  const { url, plane } = await startPlane(t, snap, { timerTickMs: 10 });
  const started = performance.now();
  const res = await get(url, '/slow');
  const took = performance.now() - started;
  assert.equal(res.status, 504);
  assert.equal(res.text, 'upstream request timeout\n');
  assert.ok(took >= 140 && took < 2000, `took ${took} ms`);
  await closed;
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_TIMEOUT'), 1);
});

test('504 on stream idle timeout before the head', async (t) => {
  const origin = await startOrigin(t, (req) => {
    req.resume();
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0, idleTimeoutMs: 120 }] })],
    [cluster('c', [origin.port])],
  );
  const { url, plane } = await startPlane(t, snap, { timerTickMs: 10 });
  const res = await get(url, '/idle');
  assert.equal(res.status, 504);
  assert.equal(res.text, 'stream idle timeout\n');
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_IDLE_TIMEOUT'), 1);
});

test('timeout after the head was sent aborts the client connection', async (t) => {
  const origin = await startOrigin(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
  });
  // The head must arrive before the timeout for this case to exist; 500 ms leaves room for a
  // loaded machine while keeping the test short.
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 500 }] })],
    [cluster('c', [origin.port])],
  );
  const { url, plane } = await startPlane(t, snap, { timerTickMs: 10 });
  const res = await request(`${url}/`);
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.text());
  assert.equal(plane.stats.downstreamAborts, 1);
});

test('503 when the upstream closes the connection before answering (Envoy: disconnect/reset before headers)', async (t) => {
  const origin = await startOrigin(t, (req) => {
    req.socket.destroy();
  });
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [origin.port])]);
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/');
  assert.equal(res.status, 503);
  assert.equal(res.text, 'upstream connect error or disconnect/reset before headers\n');
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_CONNECT_FAILURE'), 1);
});

test('502 when the upstream sends an invalid response', async (t) => {
  const garbage = createTcpServer((sock) => {
    sock.once('data', () => sock.end('NOT-HTTP garbage\r\n\r\n'));
  });
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => garbage.close(() => r())));
  const port = (garbage.address() as AddressInfo).port;
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [port])]);
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/');
  assert.equal(res.status, 502);
  assert.equal(plane.stats.localReplyCount('GW_ERR_UPSTREAM_PROTOCOL'), 1);
});

test('upstream death mid-response: the client sees an aborted response, the gateway stays healthy', async (t) => {
  let n = 0;
  const origin = await startOrigin(t, (req, res) => {
    n++;
    if (n === 1) {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(64 * 1024, 0x61), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.end('fine');
  });
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [origin.port])]);
  const { url, plane } = await startPlane(t, snap);
  const res = await request(`${url}/`);
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.arrayBuffer());
  assert.equal(plane.stats.downstreamAborts, 1);
  const after = await get(url, '/');
  assert.equal(after.status, 200);
  assert.equal(after.text, 'fine');
});

test('client disconnect mid-request aborts the upstream request', async (t) => {
  let upstreamGone: () => void = () => {};
  const gone = new Promise<void>((r) => {
    upstreamGone = r;
  });
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const origin = await startOrigin(t, (req, res) => {
    res.on('close', () => upstreamGone());
    arrived();
    req.resume();
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0 }] })],
    [cluster('c', [origin.port])],
  );
  const { url, plane } = await startPlane(t, snap);
  const ac = new AbortController();
  const pending = request(`${url}/hang`, { signal: ac.signal });
  await reached;
  ac.abort();
  await assert.rejects(pending);
  await gone;
  assert.equal(plane.stats.downstreamResets, 1);
  // The in-flight count was released: the cluster is idle again.
  await new Promise((r) => setImmediate(r));
  assert.equal(plane.clusters.get('c')?.inflight, 0);
});

test('graceful close: in-flight requests finish, new connections are refused', async (t) => {
  let release: () => void = () => {};
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const origin = await startOrigin(t, (_req, res) => {
    arrived();
    release = () => res.end('done');
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0 }] })],
    [cluster('c', [origin.port])],
  );
  const { url, plane } = await startPlane(t, snap);
  const inflight = get(url, '/');
  await reached;
  const closing = plane.close({ drainMs: 5000 });
  await new Promise((r) => setTimeout(r, 20));
  await assert.rejects(request(`${url}/`, { reset: true }));
  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.text, 'done');
  await closing;
  assert.equal(plane.inflight, 0);
});

test('a bug in the request pipeline answers 500 and the process keeps serving', async (t) => {
  const origin = await startOrigin(t, (_req, res) => res.end('ok'));
  const routes = [irRoute(0, { targets: [{ cluster: 'c' }] })];
  const clusters = [cluster('c', [origin.port])];
  // A snapshot whose route table throws stands in for any programming error on the request path.
  const broken = {
    ...snapshotOf(routes, clusters),
    table: {
      size: 1,
      match: () => {
        throw new Error('route table bug');
      },
    },
  };
  const { url, plane, swap } = await startPlane(t, broken);
  const res = await request(`${url}/x`);
  assert.equal(res.statusCode, 500);
  assert.equal(await res.body.text(), 'internal error in the gateway\n');
  assert.equal(plane.stats.localReplyCount('GW_ERR_INTERNAL'), 1);
  swap(snapshotOf(routes, clusters));
  const after = await request(`${url}/x`);
  assert.equal(after.statusCode, 200);
  assert.equal(await after.body.text(), 'ok');
});
