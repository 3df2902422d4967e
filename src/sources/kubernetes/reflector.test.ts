import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, jittered } from './backoff.js';
import { Kinds } from './kinds.js';
import { Reflector, ReflectorState } from './reflector.js';
import { FakeClient, FakeTimers, obj, settle, statusError } from './test-support.js';

function setup(opts: { kind?: keyof typeof Kinds; inactivityMs?: number } = {}) {
  const client = new FakeClient();
  const timers = new FakeTimers();
  let changes = 0;
  const r = new Reflector({
    client,
    kind: Kinds[opts.kind ?? 'Service'],
    onChange: () => changes++,
    timers,
    random: () => 0.5,
    inactivityMs: opts.inactivityMs ?? 150_000,
    backoff: { baseMs: 100, maxMs: 1600, jitter: 0 },
  });
  const ac = new AbortController();
  return {
    client,
    timers,
    r,
    changes: () => changes,
    start: async () => {
      void r.run(ac.signal);
      await settle();
    },
    stop: () => ac.abort(),
  };
}

test('backoff grows by the factor up to the cap, jitters below the ceiling, resets', () => {
  const b = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  b.reset();
  assert.equal(b.next(), 100);
  let r = 0;
  const draws = [0, 0.999, 0.5];
  const j = new Backoff({ baseMs: 1000, jitter: 0.5, random: () => draws[r++]! });
  assert.equal(j.next(), 1000);
  assert.ok(Math.abs(j.next() - 2000 * (1 - 0.4995)) < 1e-6);
  assert.equal(j.next(), 4000 * 0.75);
  assert.equal(
    jittered(100, 0.2, () => 0),
    80,
  );
  assert.ok(Math.abs(jittered(100, 0.2, () => 1) - 120) < 1e-9);
});

test('lists every page, fills apiVersion/kind, drops managedFields, then watches from the list RV', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = (req) =>
    req.query?.['continue'] === undefined
      ? {
          items: [obj('a', 's1', '5', { metadata: { namespace: 'a', name: 's1', managedFields: [{}] } })],
          rv: '10',
          continue: 'tok',
        }
      : { items: [obj('b', 's2', '7')], rv: '10' };
  await f.start();
  assert.equal(f.r.synced, true);
  assert.deepEqual([...f.r.store.keys()], ['a/s1', 'b/s2']);
  const s1 = f.r.store.get('a/s1')!;
  assert.equal(s1['apiVersion'], 'v1');
  assert.equal(s1['kind'], 'Service');
  assert.equal('managedFields' in (s1.metadata ?? {}), false);
  assert.equal(f.client.requests[0]!.query?.['limit'], 500);
  assert.equal(f.client.requests[1]!.query?.['continue'], 'tok');
  const w = f.client.lastWatch!;
  assert.equal(w.path, '/api/v1/services');
  assert.equal(w.query['resourceVersion'], '10');
  assert.equal(w.query['allowWatchBookmarks'], true);
  assert.equal(w.query['timeoutSeconds'], 450);
  assert.equal(f.changes(), 1);
});

test('events update the store; bookmarks move the RV only; a clean end re-watches from the last RV', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => ({ items: [obj('a', 's1', '5')], rv: '10' });
  await f.start();
  const w = f.client.lastWatch!;
  w.push('ADDED', { kind: 'Service', apiVersion: 'v1', ...obj('a', 's2', '11') });
  w.push('MODIFIED', { kind: 'Service', apiVersion: 'v1', ...obj('a', 's1', '12', { spec: { x: 1 } }) });
  w.push('DELETED', { kind: 'Service', apiVersion: 'v1', ...obj('a', 's2', '13') });
  w.push('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '20' } });
  await settle();
  assert.deepEqual([...f.r.store.keys()], ['a/s1']);
  assert.deepEqual(f.r.store.get('a/s1')!['spec'], { x: 1 });
  assert.equal(f.changes(), 4); // list + add + modify + delete; the bookmark is silent
  assert.equal(f.r.resourceVersion, '20');
  w.end();
  await settle();
  assert.equal(f.client.watches.length, 2);
  assert.equal(f.client.lastWatch!.query['resourceVersion'], '20');
  assert.equal(f.client.listCount, 1, 'a clean end does not relist');
});

test('a status-only change updates the store without a change notification', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => ({ items: [obj('a', 's1', '5', { spec: { a: 1 } })], rv: '10' });
  await f.start();
  const before = f.changes();
  f.client.lastWatch!.push(
    'MODIFIED',
    obj('a', 's1', '11', { spec: { a: 1 }, status: { state: 'Running' } }),
  );
  await settle();
  assert.equal(f.changes(), before);
  assert.deepEqual(f.r.store.get('a/s1')!['status'], { state: 'Running' });
});

test('an in-stream ERROR 410 relists and picks up what changed meanwhile, deletions included', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => ({ items: [obj('a', 's1', '5'), obj('a', 'gone', '6')], rv: '10' });
  await f.start();
  f.client.list = () => ({ items: [obj('a', 's1', '5'), obj('a', 'new', '30')], rv: '31' });
  f.client.lastWatch!.push('ERROR', {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'Expired',
    code: 410,
    message: 'too old resource version: 10 (25)',
  });
  await settle();
  assert.equal(f.r.stats.relists410, 1);
  assert.equal(f.client.listCount, 2);
  assert.deepEqual([...f.r.store.keys()].sort(), ['a/new', 'a/s1']);
  assert.equal(f.client.lastWatch!.query['resourceVersion'], '31');
});

test('an HTTP 410 when opening the watch relists', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => ({ items: [], rv: '10' });
  let refuse = true;
  f.client.watchOpen = () => {
    if (refuse) {
      refuse = false;
      throw statusError(410, 'Expired');
    }
  };
  await f.start();
  assert.equal(f.client.listCount, 2);
  assert.equal(f.client.watches.length, 1);
  assert.equal(f.r.stats.relists410, 1);
});

test('dropped connections back off exponentially from the last RV; a healthy watch resets the backoff', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => ({ items: [], rv: '10' });
  let failures = 3;
  f.client.watchOpen = () => {
    if (failures-- > 0) throw new Error('connect ECONNREFUSED');
  };
  await f.start();
  assert.equal(f.r.health.state, ReflectorState.Retrying);
  assert.ok(f.timers.delays().includes(100));
  await f.timers.advance(100);
  assert.ok(f.timers.delays().includes(200));
  await f.timers.advance(200);
  assert.ok(f.timers.delays().includes(400));
  await f.timers.advance(400);
  assert.equal(f.client.watches.length, 1);
  assert.equal(f.client.lastWatch!.query['resourceVersion'], '10');
  assert.equal(f.client.listCount, 1, 'reconnects never relist while the RV is valid');
  assert.equal(f.r.health.state, ReflectorState.Synced);
  // Up for 60 s, then dropped: the next delay starts from the base again.
  await f.timers.advance(60_000);
  f.client.lastWatch!.fail(new Error('socket hang up'));
  await settle();
  assert.ok(f.timers.delays().includes(100), `delays ${f.timers.delays()}`);
});

test('a watch that goes silent past the inactivity timeout is aborted and re-opened', async (t) => {
  const f = setup({ inactivityMs: 5000 });
  t.after(f.stop);
  f.client.list = () => ({ items: [], rv: '10' });
  await f.start();
  const first = f.client.lastWatch!;
  await f.timers.advance(4000);
  first.push('BOOKMARK', { metadata: { resourceVersion: '15' } });
  await f.timers.advance(4000);
  assert.equal(f.client.watches.length, 1, 'a bookmark counts as activity');
  await f.timers.advance(1500);
  assert.equal(first.closed, true);
  assert.equal(f.r.stats.inactivityAborts, 1);
  assert.equal(f.client.watches.length, 2);
  assert.equal(f.client.lastWatch!.query['resourceVersion'], '15');
});

test('forbidden: reported, treated as empty and synced, retried until allowed', async (t) => {
  const f = setup();
  t.after(f.stop);
  f.client.list = () => {
    throw statusError(403, 'Forbidden', 'services is forbidden: User "x" cannot list resource "services"');
  };
  await f.start();
  assert.equal(f.r.synced, true);
  assert.equal(f.r.health.state, ReflectorState.Forbidden);
  assert.match(f.r.health.message, /cannot list resource "services"/);
  assert.equal(f.r.store.size, 0);
  f.client.list = () => ({ items: [obj('a', 's1', '5')], rv: '10' });
  await f.timers.advance(100);
  assert.equal(f.r.health.state, ReflectorState.Synced);
  assert.equal(f.r.store.size, 1);
});

test('an optional kind falls back to the next served version, or is NotInstalled and re-checked', async (t) => {
  const f = setup({ kind: 'Mapping' });
  t.after(f.stop);
  f.client.list = (req) => {
    if (req.path.includes('/v3alpha1/')) throw statusError(404, 'NotFound');
    return { items: [obj('a', 'm1', '5')], rv: '10' };
  };
  await f.start();
  assert.equal(f.r.store.get('a/m1')!['apiVersion'], 'getambassador.io/v2');
  assert.equal(f.client.lastWatch!.path, '/apis/getambassador.io/v2/mappings');

  const g = setup({ kind: 'Module' });
  t.after(g.stop);
  g.client.list = () => {
    throw statusError(404, 'NotFound');
  };
  await g.start();
  assert.equal(g.r.synced, true);
  assert.equal(g.r.health.state, ReflectorState.NotInstalled);
  g.client.list = () => ({ items: [obj('a', 'ambassador', '5')], rv: '10' });
  await g.timers.advance(60_000);
  assert.equal(g.r.health.state, ReflectorState.Synced);
  assert.equal(g.r.store.get('a/ambassador')!['apiVersion'], 'getambassador.io/v3alpha1');
});

test('an expired continue token restarts the list from the first page', async (t) => {
  const f = setup();
  t.after(f.stop);
  let calls = 0;
  f.client.list = (req) => {
    calls++;
    if (calls === 2) throw statusError(410, 'Expired');
    // Every page of one list carries the list's RV; the restarted list is a newer snapshot.
    const rv = calls < 3 ? '10' : '30';
    return req.query?.['continue'] === undefined
      ? { items: [obj('a', 's1', '5')], rv, continue: 'tok' }
      : { items: [obj('b', 's2', '6')], rv };
  };
  await f.start();
  assert.equal(calls, 4);
  assert.deepEqual([...f.r.store.keys()], ['a/s1', 'b/s2']);
  assert.equal(f.client.lastWatch!.query['resourceVersion'], '30');
});
