import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildIr } from '../build.js';
import { mapping, resourceSet } from '../test-support.js';
import { compareWeightKeys, hostMatch, roundHalfEven, routeWeight, splitWeights } from './mappings.js';

const w = (weight?: number) => ({ spec: weight === undefined ? {} : { weight } });

test('splitWeights: single Mapping gets 100 whatever its weight', () => {
  const r = splitWeights([w(5)]);
  assert.ok(!('overflow' in r));
  assert.deepEqual(r.thresholds, [100]);
});

test('splitWeights: weighted first as running totals, weightless share the rest, last is 100', () => {
  const a = w();
  const b = w(10);
  const c = w(20);
  const r = splitWeights([a, b, c]);
  assert.ok(!('overflow' in r));
  assert.deepEqual(r.ordered, [b, c, a]);
  assert.deepEqual(r.thresholds, [10, 30, 100]);
});

test('splitWeights: remainder split rounds half to even, last forced to 100', () => {
  // 75 / 2 = 37.5 → 38 (even); 25 / 2 = 12.5 → 12 (even)
  const r1 = splitWeights([w(25), w(), w()]);
  assert.ok(!('overflow' in r1));
  assert.deepEqual(r1.thresholds, [25, 63, 100]);
  const r2 = splitWeights([w(75), w(), w()]);
  assert.ok(!('overflow' in r2));
  assert.deepEqual(r2.thresholds, [75, 87, 100]);
});

test('splitWeights: total 100 leaves weightless Mappings at 0% but kept', () => {
  const r = splitWeights([w(), w(100)]);
  assert.ok(!('overflow' in r));
  assert.deepEqual(r.thresholds, [100, 100]);
});

test('splitWeights: total above 100 overflows; total below 100 with no weightless reports the gap', () => {
  assert.deepEqual(splitWeights([w(60), w(50)]), { overflow: 110 });
  const r = splitWeights([w(30), w(30)]);
  assert.ok(!('overflow' in r));
  assert.deepEqual(r.thresholds, [30, 100]);
  assert.equal(r.gap, 40);
});

test('roundHalfEven matches Python round()', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 12.5, 33.3, 33.7].map(roundHalfEven), [0, 2, 2, 12, 33, 34]);
});

test('hostMatch: globs, exact, ports and bad globs', () => {
  assert.deepEqual(hostMatch('*', false), { kind: 'any' });
  assert.deepEqual(hostMatch('*.Example.com', false), { kind: 'suffix', value: '.example.com' });
  assert.deepEqual(hostMatch('foo.example.*', false), { kind: 'prefix', value: 'foo.example.' });
  assert.deepEqual(hostMatch('Foo.Example.com', false), { kind: 'exact', value: 'foo.example.com' });
  assert.deepEqual(hostMatch('foo.example.com:8080', false), {
    kind: 'regex',
    value: 'foo\\.example\\.com:8080',
  });
  assert.deepEqual(hostMatch('*.example.com:8443', false), {
    kind: 'regex',
    value: '.*\\.example\\.com:8443',
  });
  assert.deepEqual(hostMatch('^a+$', true), { kind: 'regex', value: '^a+$' });
  assert.ok('error' in hostMatch('foo.*.com', false));
  assert.ok('error' in hostMatch('*.foo.*', false));
});

test('routeWeight: hostname "*" adds 11, method GET adds 10, regex adds 1', () => {
  const k = routeWeight({
    precedence: 0,
    prefix: '/a/',
    method: 'GET',
    headers: [
      { name: 'x', value: 'y', regex: true },
      { name: ':authority', value: '*', regex: false },
      { name: ':method', value: 'GET', regex: false },
    ],
    query: [{ name: 'q', value: '', regex: false }],
  });
  assert.deepEqual(k.slice(0, 6), [0, 3, 3 + 11 + 10, 2, '/a/', 'GET']);
  assert.deepEqual(k.slice(6), ['x-y', ':authority-*', ':method-GET', 'q-*']);
});

test('compareWeightKeys: numbers numerically, strings lexically, longer list larger on a tie', () => {
  assert.ok(compareWeightKeys([1, 10], [1, 9]) > 0);
  assert.ok(compareWeightKeys([0, '/b'], [0, '/a']) > 0);
  assert.ok(compareWeightKeys([0, 'a', 'x'], [0, 'a']) > 0);
  assert.equal(compareWeightKeys([0, 'a'], [0, 'a']), 0);
});

test('order: precedence beats prefix length; longer prefix beats header constraints', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'short' }, { prefix: '/a/' }),
        mapping({ name: 'long' }, { prefix: '/a/bbbb/' }),
        mapping({ name: 'prec' }, { prefix: '/', precedence: 1 }),
        mapping({ name: 'hdr' }, { prefix: '/a/', headers: { 'x-long-header-name': 'value' } }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.deepEqual(
    ir.routes.map((r) => r.sources[0]),
    ['Mapping/default/prec', 'Mapping/default/long', 'Mapping/default/hdr', 'Mapping/default/short'],
  );
  assert.deepEqual(
    ir.routes.map((r) => r.order),
    [0, 1, 2, 3],
  );
});

test('same match with headers written in another order forms one canary group', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'a' }, { prefix: '/x/', headers: { a: '1', b: '2' }, service: 'one' }),
        mapping({ name: 'b' }, { prefix: '/x/', headers: { b: '2', a: '1' }, service: 'two' }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.routes.length, 1);
  assert.deepEqual(
    ir.routes[0].targets.map((t) => [t.mapping, t.threshold, t.weight]),
    [
      ['Mapping/default/a', 50, 50],
      ['Mapping/default/b', 100, 50],
    ],
  );
});

test('policy core keys: a newer Mapping that sets a key the group left unset is rejected; omitting one is fine', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'first' }, { prefix: '/x/', service: 'a' }),
        mapping({ name: 'omits' }, { prefix: '/x/', service: 'b' }),
        mapping({ name: 'sets' }, { prefix: '/x/', service: 'c', connect_timeout_ms: 500 }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.deepEqual(ir.routes[0].sources, ['Mapping/default/first', 'Mapping/default/omits']);
  const st = ir.statuses.find((s) => s.key === 'Mapping/default/sets');
  assert.equal(st?.state, 'Rejected');
  assert.equal(st?.conditions[0].reason, 'GroupMismatch');
  assert.equal(st?.conditions[0].field, 'spec.connect_timeout_ms');
});

test('case_sensitive must agree within a group', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'a' }, { prefix: '/x/' }),
        mapping({ name: 'b' }, { prefix: '/x/', case_sensitive: false }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.routes[0].targets.length, 1);
  const st = ir.statuses.find((s) => s.key === 'Mapping/default/b');
  assert.equal(st?.conditions[0].field, 'spec.case_sensitive');
});

test('method is upper-cased with a warning; method_regex is kept as written', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'a' }, { prefix: '/a/', method: 'post' }),
        mapping({ name: 'b' }, { prefix: '/b/', method: 'p.*', method_regex: true }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  const a = ir.routes.find((r) => r.sources[0] === 'Mapping/default/a');
  const b = ir.routes.find((r) => r.sources[0] === 'Mapping/default/b');
  assert.deepEqual(a?.match.method, { value: 'POST', regex: false });
  assert.deepEqual(b?.match.method, { value: 'p.*', regex: true });
  assert.equal(ir.statuses.find((s) => s.key === 'Mapping/default/a')?.state, 'Warning');
});

test('exact :authority header acts as host and is not a header matcher', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping(
          { name: 'a' },
          { prefix: '/a/', hostname: undefined, headers: { ':authority': 'Foo.com', 'X-A': 'b' } },
        ),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.deepEqual(ir.routes[0].match.host, { kind: 'exact', value: 'foo.com' });
  assert.deepEqual(ir.routes[0].match.headers, [{ name: 'x-a', kind: 'exact', value: 'b' }]);
});

test('every regex field is checked and named', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'p' }, { prefix: '/(', prefix_regex: true }),
        mapping({ name: 'h' }, { regex_headers: { 'x-a': '[' } }),
        mapping({ name: 'q' }, { regex_query_parameters: { q: '(?P<n>a)' } }),
        mapping({ name: 'r' }, { regex_rewrite: { pattern: '*', substitution: '' } }),
        mapping({ name: 'm' }, { method: '(', method_regex: true }),
        mapping({ name: 'o' }, { host: '[', host_regex: true, hostname: undefined }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.routes.length, 0);
  const fields = ir.statuses.map((s) => [
    s.state,
    s.conditions.find((c) => c.reason === 'InvalidRegex')?.field,
  ]);
  assert.deepEqual(fields, [
    ['Rejected', 'spec.prefix'],
    ['Rejected', 'spec.regex_headers.x-a'],
    ['Rejected', 'spec.regex_query_parameters.q'],
    ['Rejected', 'spec.regex_rewrite.pattern'],
    ['Rejected', 'spec.method'],
    ['Rejected', 'spec.host'],
  ]);
});
