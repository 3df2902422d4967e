import assert from 'node:assert/strict';
import { test } from 'node:test';
import { irOf, irRoute } from '../../test/conformance/ir-route.js';
import { compileSnapshot } from './compile.js';
import { SnapshotStore } from './store.js';
import type { Snapshot } from './types.js';

const snap = (version: number): Snapshot => compileSnapshot(irOf([irRoute(0)]), version);

test('store: empty until the first swap', () => {
  const store = new SnapshotStore();
  assert.equal(store.current, null);
  assert.equal(store.lastGood, null);
  assert.equal(store.version, 0);
  assert.equal(store.lastFailure, null);
});

test('store: swap replaces current by reference and notifies subscribers with (next, previous)', () => {
  const store = new SnapshotStore();
  const seen: [number, number | null][] = [];
  store.subscribe((next, prev) => seen.push([next.version, prev === null ? null : prev.version]));
  const a = snap(1);
  const b = snap(2);
  store.swap(a);
  const held = store.current; // a request that arrived now
  store.swap(b);
  assert.equal(held, a);
  assert.equal(store.current, b);
  assert.equal(store.version, 2);
  assert.deepEqual(seen, [
    [1, null],
    [2, 1],
  ]);
});

test('store: refuses a snapshot that is not newer', () => {
  const store = new SnapshotStore();
  store.swap(snap(2));
  assert.throws(() => store.swap(snap(2)), { code: 'GW_ERR_CONFIG_LOAD' });
  assert.throws(() => store.swap(snap(1)), { code: 'GW_ERR_CONFIG_LOAD' });
  assert.equal(store.version, 2);
});

test('store: a recorded failure keeps the last good snapshot live until the next swap', () => {
  const store = new SnapshotStore({ now: () => 1234 });
  const a = snap(1);
  store.swap(a);
  const err = new Error('boom');
  store.recordFailure(err);
  assert.equal(store.current, a);
  assert.equal(store.lastGood, a);
  assert.deepEqual(store.lastFailure, { error: err, at: 1234 });
  store.swap(snap(2));
  assert.equal(store.lastFailure, null);
});

test('store: unsubscribe stops notifications and is idempotent; a throwing listener does not stop others', () => {
  const errors: unknown[] = [];
  const store = new SnapshotStore({ onListenerError: (e) => errors.push(e) });
  let calls = 0;
  store.subscribe(() => {
    throw new Error('listener failed');
  });
  const off = store.subscribe(() => {
    calls++;
  });
  store.swap(snap(1));
  off();
  off();
  store.swap(snap(2));
  assert.equal(calls, 1);
  assert.equal(errors.length, 2);
  assert.equal(store.version, 2);
});

test('store: the same function subscribed twice is called twice and unsubscribed independently', () => {
  const store = new SnapshotStore();
  let calls = 0;
  const fn = () => {
    calls++;
  };
  const off1 = store.subscribe(fn);
  store.subscribe(fn);
  store.swap(snap(1));
  off1();
  store.swap(snap(2));
  assert.equal(calls, 3);
});
