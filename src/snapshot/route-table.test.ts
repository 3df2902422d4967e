import assert from 'node:assert/strict';
import { test } from 'node:test';
import { irOf, irRoute, request } from '../../test/conformance/ir-route.js';
import { compileSnapshot } from './compile.js';
import { literalPrefix, parseQuery } from './route-table.js';

test('parseQuery: first value wins, no decoding, bare names are empty, empty parts skipped', () => {
  const q = parseQuery('a=1&b&a=2&&c=%20x&d=e=f');
  assert.deepEqual(
    [...q],
    [
      ['a', '1'],
      ['b', ''],
      ['c', '%20x'],
      ['d', 'e=f'],
    ],
  );
  assert.equal(parseQuery('').size, 0);
});

test('route table: matching the same request twice gives the same route (no state leaks between calls)', () => {
  const snap = compileSnapshot(
    irOf([
      irRoute(0, {
        path: { value: '/A', caseSensitive: false },
        query: [{ name: 'q', kind: 'exact', value: '1' }],
      }),
      irRoute(1, { path: '/' }),
    ]),
    1,
  );
  const withQuery = request({ path: '/a', query: 'q=1' });
  const without = request({ path: '/a', query: 'q=2' });
  assert.equal(snap.table.match(withQuery)?.order, 0);
  assert.equal(snap.table.match(without)?.order, 1);
  assert.equal(snap.table.match(withQuery)?.order, 0);
});

test('route table: 10,000 exact-host buckets still find the right route', () => {
  const routes = [];
  for (let i = 0; i < 10_000; i++) {
    routes.push(irRoute(i, { host: { kind: 'exact', value: `h${i}.example.com` }, path: `/svc${i % 7}/` }));
  }
  const snap = compileSnapshot(irOf(routes), 1, { freeze: false });
  assert.equal(snap.table.match(request({ host: 'h4321.example.com', path: '/svc2/x' }))?.order, 4321);
  assert.equal(snap.table.match(request({ host: 'h4321.example.com', path: '/svc3/x' })), null);
});

test('literalPrefix: the text every full match must start with, conservatively', () => {
  const cases: [string, string][] = [
    ['/users/[0-9]+', '/users/'],
    ['^/users/.*', '/users/'],
    ['/ab?c', '/a'],
    ['/ab*', '/a'],
    ['/ab+', '/ab'],
    ['/ab{0,2}', '/a'],
    ['/a(b)?', '/a'],
    ['/a|/b', ''],
    ['/api/(v1|v2)/.*', '/api/'],
    ['[|]/x', ''],
    ['/x[]|/y', ''],
    ['\\/x', ''],
    ['.*', ''],
    ['/plain', '/plain'],
  ];
  for (const [source, want] of cases) assert.equal(literalPrefix(source), want, source);
});

test('route table: a radix node with many children (inline first child plus Map) finds each one', () => {
  const letters = 'abcdefghijklmnop';
  const routes = [];
  for (let i = 0; i < letters.length; i++) routes.push(irRoute(i, { path: `/x${letters[i]}/` }));
  routes.push(irRoute(letters.length, { path: '/x' }));
  const snap = compileSnapshot(irOf(routes), 1);
  for (let i = 0; i < letters.length; i++) {
    assert.equal(snap.table.match(request({ path: `/x${letters[i]}/1` }))?.order, i);
  }
  assert.equal(snap.table.match(request({ path: '/xz/1' }))?.order, letters.length);
  assert.equal(snap.table.match(request({ path: '/y' })), null);
});
