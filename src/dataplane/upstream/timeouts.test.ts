import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoarseTimer, type TimedEntry, TimeoutKind } from './timeouts.js';

function entry(fired: Array<[string, TimeoutKind]>, name: string): TimedEntry {
  return {
    timerSlot: -1,
    deadlineAt: 0,
    headDeadlineAt: 0,
    idleMs: 0,
    lastActivityAt: 0,
    onTimeout(kind) {
      fired.push([name, kind]);
    },
  };
}

test('request deadline fires once, at the first tick at or after it', () => {
  let now = 1000;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const a = entry(fired, 'a');
  timer.arm(a, 200, 0);
  now = 1199;
  timer.tick();
  assert.deepEqual(fired, []);
  now = 1200;
  timer.tick();
  assert.deepEqual(fired, [['a', 1]]);
  now = 5000;
  timer.tick();
  assert.equal(fired.length, 1);
  assert.equal(a.timerSlot, -1);
  assert.equal(timer.size, 0);
});

test('idle timeout counts from the last touch', () => {
  let now = 0;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const a = entry(fired, 'a');
  timer.arm(a, 0, 100);
  now = 90;
  timer.tick();
  timer.touch(a);
  now = 180;
  timer.tick();
  assert.deepEqual(fired, []);
  now = 190;
  timer.tick();
  assert.deepEqual(fired, [['a', 2]]);
});

test('disarm removes from the middle and keeps the others armed', () => {
  let now = 0;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const es = ['a', 'b', 'c', 'd'].map((n) => entry(fired, n));
  for (const e of es) timer.arm(e, 100, 0);
  timer.disarm(es[1]);
  assert.equal(timer.size, 3);
  now = 100;
  timer.tick();
  assert.deepEqual(fired.map((f) => f[0]).sort(), ['a', 'c', 'd']);
  assert.equal(timer.size, 0);
});

test('zero timeouts arm nothing', () => {
  const timer = new CoarseTimer({ clock: () => 0, autoTick: false });
  const e = entry([], 'a');
  timer.arm(e, 0, 0);
  assert.equal(e.timerSlot, -1);
  assert.equal(timer.size, 0);
});

test('response-head deadline arms an unarmed entry and fires as ResponseHeaders', () => {
  let now = 0;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const a = entry(fired, 'a');
  timer.setHeadDeadline(a, 0);
  assert.equal(a.timerSlot, -1);
  timer.setHeadDeadline(a, 300);
  assert.equal(timer.size, 1);
  now = 299;
  timer.tick();
  assert.deepEqual(fired, []);
  now = 300;
  timer.tick();
  assert.deepEqual(fired, [['a', TimeoutKind.ResponseHeaders]]);
  assert.equal(timer.size, 0);
});

test('a cleared response-head deadline does not fire; the end-to-end deadline still does', () => {
  let now = 0;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const a = entry(fired, 'a');
  timer.arm(a, 1000, 0);
  timer.setHeadDeadline(a, 100);
  assert.equal(a.deadlineAt, 1000);
  now = 50;
  a.headDeadlineAt = 0;
  now = 500;
  timer.tick();
  assert.deepEqual(fired, []);
  now = 1000;
  timer.tick();
  assert.deepEqual(fired, [['a', TimeoutKind.Request]]);
});

test('the end-to-end deadline wins when both are due on one tick', () => {
  let now = 0;
  const timer = new CoarseTimer({ clock: () => now, autoTick: false });
  const fired: Array<[string, TimeoutKind]> = [];
  const a = entry(fired, 'a');
  timer.arm(a, 100, 0);
  timer.setHeadDeadline(a, 100);
  now = 150;
  timer.tick();
  assert.deepEqual(fired, [['a', TimeoutKind.Request]]);
});
