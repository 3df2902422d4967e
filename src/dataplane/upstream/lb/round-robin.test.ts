import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobin } from './round-robin.js';

test('round robin visits every endpoint once per cycle', () => {
  const rr = new RoundRobin();
  const seen = [0, 0, 0];
  for (let i = 0; i < 30; i++) seen[rr.next(3)]++;
  assert.deepEqual(seen, [10, 10, 10]);
});

test('an empty list yields -1 and a list of one always 0', () => {
  const rr = new RoundRobin();
  assert.equal(rr.next(0), -1);
  assert.equal(rr.next(1), 0);
  assert.equal(rr.next(1), 0);
});

test('the cursor survives a change of length without going out of range', () => {
  const rr = new RoundRobin();
  rr.next(5);
  rr.next(5);
  rr.next(5);
  for (let i = 0; i < 10; i++) {
    const k = rr.next(2);
    assert.ok(k === 0 || k === 1);
  }
});
