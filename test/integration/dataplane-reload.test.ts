/**
 * Snapshot swaps against live traffic: keep-alive client connections survive, in-flight requests
 * finish on the snapshot they started with, endpoints and clusters removed while a request is in
 * flight let it finish, and a request for a retired cluster still works. Also: canary split and
 * round robin across endpoints.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import {
  client,
  cluster,
  echo,
  getJson,
  irRoute,
  snapshotOf,
  startOrigin,
  startPlane,
} from './dataplane-harness.js';

test('a keep-alive client connection serves requests before and after a swap', async (t) => {
  const a = await startOrigin(t, echo('a'));
  const b = await startOrigin(t, echo('b'));
  const snapA = snapshotOf([irRoute(0, { targets: [{ cluster: 'ca' }] })], [cluster('ca', [a.port])]);
  const snapB = snapshotOf([irRoute(0, { targets: [{ cluster: 'cb' }] })], [cluster('cb', [b.port])]);
  const p = await startPlane(t, snapA);
  const c = client(t, p.url);
  let connects = 0;
  c.on('connect', () => connects++);
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await c.request({ path: '/', method: 'GET' });
    names.push(((await r.body.json()) as { name: string }).name);
  }
  p.swap(snapB);
  for (let i = 0; i < 3; i++) {
    const r = await c.request({ path: '/', method: 'GET' });
    names.push(((await r.body.json()) as { name: string }).name);
  }
  assert.deepEqual(names, ['a', 'a', 'a', 'b', 'b', 'b']);
  assert.equal(connects, 1, 'the same client connection served every request');
});

test('a request in flight on snapshot A finishes correctly after the swap to B', async (t) => {
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const a = await startOrigin(t, (_req, res) => {
    held.push(res);
    arrived();
  });
  const b = await startOrigin(t, echo('b'));
  const snapA = snapshotOf(
    [
      irRoute(0, {
        path: '/',
        targets: [
          {
            cluster: 'ca',
            timeoutMs: 0,
            addResponseHeaders: [{ name: 'x-snap', value: 'A', append: false }],
          },
        ],
      }),
    ],
    [cluster('ca', [a.port])],
  );
  const snapB = snapshotOf([irRoute(0, { targets: [{ cluster: 'cb' }] })], [cluster('cb', [b.port])]);
  const p = await startPlane(t, snapA);
  const c = client(t, p.url);
  const inflight = c.request({ path: '/', method: 'GET' });
  await reached;
  p.swap(snapB);
  // New traffic goes to B while the old request is still open.
  const fresh = await getJson(p.url, '/');
  assert.equal(fresh.name, 'b');
  held[0].end('from-a');
  const r = await inflight;
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['x-snap'], 'A');
  assert.equal(await r.body.text(), 'from-a');
});

test('an endpoint removed while a request is in flight lets it finish; new requests avoid it', async (t) => {
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const a = await startOrigin(t, (_req, res) => {
    held.push(res);
    arrived();
  });
  const b = await startOrigin(t, echo('b'));
  const route = irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0 }] });
  const snap1 = snapshotOf([route], [cluster('c', [a.port])]);
  const snap2 = snapshotOf([route], [cluster('c', [b.port])]);
  const p = await startPlane(t, snap1);
  const inflight = client(t, p.url).request({ path: '/', method: 'GET' });
  await reached;
  p.swap(snap2);
  for (let i = 0; i < 3; i++) assert.equal((await getJson(p.url, '/')).name, 'b');
  held[0].end('still-a');
  const r = await inflight;
  assert.equal(r.statusCode, 200);
  assert.equal(await r.body.text(), 'still-a');
  assert.equal(a.requests, 1);
});

test('a retired cluster finishes its in-flight request, then closes; a late request for it still works', async (t) => {
  const held: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const a = await startOrigin(t, (req, res) => {
    if (req.url === '/hold') {
      held.push(res);
      arrived();
      return;
    }
    echo('a')(req, res);
  });
  const b = await startOrigin(t, echo('b'));
  const snapA = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'ca', timeoutMs: 0 }] })],
    [cluster('ca', [a.port])],
  );
  const snapB = snapshotOf([irRoute(0, { targets: [{ cluster: 'cb' }] })], [cluster('cb', [b.port])]);
  const p = await startPlane(t, snapA);
  const inflight = client(t, p.url).request({ path: '/hold', method: 'GET' });
  await reached;
  // The root updates clusters first, then swaps: 'ca' is retired while its request runs.
  p.swap(snapB);
  assert.equal(p.plane.clusters.get('ca'), undefined);
  assert.equal(p.plane.clusters.retiredCount, 1);
  held[0].end('done');
  assert.equal(await (await inflight).body.text(), 'done');
  await new Promise((r) => setImmediate(r));
  assert.equal(p.plane.clusters.retiredCount, 0, 'retired cluster closed once idle');

  // A request that read snapshot A before the swap reaches the registry after 'ca' closed: it is
  // served from a fresh retired cluster built from its own snapshot.
  const state = p.plane.clusters.resolve(snapA.clusters.get('ca')!);
  assert.equal(state.closed, false);
  assert.equal(state.retired, true);
  p.plane.clusters.acquire(state);
  p.plane.clusters.release(state);
  assert.equal(state.closed, true);
});

test('round robin spreads requests across endpoints', async (t) => {
  const a = await startOrigin(t, echo('a'));
  const b = await startOrigin(t, echo('b'));
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [a.port, b.port])]);
  const p = await startPlane(t, snap);
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push((await getJson(p.url, '/')).name);
  assert.equal(names.filter((n) => n === 'a').length, 3);
  assert.equal(names.filter((n) => n === 'b').length, 3);
});

test('canary: one draw per request picks the first target whose threshold exceeds it', async (t) => {
  const a = await startOrigin(t, echo('a'));
  const b = await startOrigin(t, echo('b'));
  const c = await startOrigin(t, echo('c'));
  const snap = snapshotOf(
    [
      irRoute(0, {
        targets: [
          { cluster: 'ca', threshold: 20, weight: 20 },
          { cluster: 'cb', threshold: 20, weight: 0 },
          { cluster: 'cc', threshold: 100, weight: 80 },
        ],
      }),
    ],
    [cluster('ca', [a.port]), cluster('cb', [b.port]), cluster('cc', [c.port])],
  );
  const draws = [0, 0.1999, 0.2, 0.5, 0.99999];
  let i = 0;
  const p = await startPlane(t, snap, { random: () => draws[i++ % draws.length] });
  const names: string[] = [];
  for (let k = 0; k < draws.length; k++) names.push((await getJson(p.url, '/')).name);
  assert.deepEqual(names, ['a', 'a', 'c', 'c', 'c']);
});

test('canary distribution over many requests is within statistical bounds', async (t) => {
  const a = await startOrigin(t, echo('a'));
  const b = await startOrigin(t, echo('b'));
  const snap = snapshotOf(
    [
      irRoute(0, {
        targets: [
          { cluster: 'ca', threshold: 30, weight: 30 },
          { cluster: 'cb', threshold: 100, weight: 70 },
        ],
      }),
    ],
    [cluster('ca', [a.port]), cluster('cb', [b.port])],
  );
  const p = await startPlane(t, snap);
  const n = 1000;
  const c = client(t, p.url);
  const batch = 50;
  for (let done = 0; done < n; done += batch) {
    const rs = await Promise.all(
      Array.from({ length: batch }, () => c.request({ path: '/', method: 'GET' })),
    );
    await Promise.all(rs.map((r) => r.body.dump()));
  }
  // Binomial(1000, 0.3): sd ≈ 14.5; ±5 sd gives a false failure rate below 1e-6.
  assert.equal(a.requests + b.requests, n);
  assert.ok(Math.abs(a.requests - 300) < 73, `a got ${a.requests} of ${n}`);
});
