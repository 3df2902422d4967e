import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepFreeze } from './deep-freeze.js';

test('deepFreeze freezes nested objects, arrays and Map values', () => {
  const inner = { a: 1 };
  const second = { b: [2] };
  const value = { list: [inner, second], map: new Map([['k', { c: 3 }]]) };
  const out = deepFreeze(value);
  assert.equal(out, value);
  assert.ok(Object.isFrozen(value));
  assert.ok(Object.isFrozen(value.list));
  assert.ok(Object.isFrozen(inner));
  assert.ok(Object.isFrozen(second.b));
  assert.ok(Object.isFrozen(value.map.get('k')));
  assert.throws(() => {
    (inner as { a: number }).a = 2;
  }, TypeError);
});

test('deepFreeze leaves RegExp instances usable (global replace writes lastIndex)', () => {
  const value = { re: /a/g };
  deepFreeze(value);
  assert.ok(Object.isFrozen(value));
  assert.equal(Object.isFrozen(value.re), false);
  assert.equal('aXa'.replace(value.re, 'b'), 'bXb');
});

test('deepFreeze handles cycles', () => {
  const a: { self?: unknown; n: number } = { n: 1 };
  a.self = a;
  deepFreeze(a);
  assert.ok(Object.isFrozen(a));
});
