/**
 * Route-table conformance: one table-driven suite run against every RouteTable implementation
 * (the indexed table in src/snapshot and the linear reference here), plus a property test that
 * random route sets and random requests pick the same route in both.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { IrHostMatch, IrPathMatch, IrRoute, IrValueMatch } from '../../src/ir/types.js';
import { compileSnapshot } from '../../src/snapshot/compile.js';
import type { CompiledRoute, MatchRequest, RouteTable } from '../../src/snapshot/types.js';
import { irOf, irRoute, type RequestSpec, type RouteSpec, request } from './ir-route.js';
import { LinearRouteTable } from './linear-route-table.js';

interface Impl {
  readonly name: string;
  build(routes: readonly IrRoute[]): RouteTable;
}

function compiled(routes: readonly IrRoute[]): readonly CompiledRoute[] {
  return compileSnapshot(irOf(routes), 1, { freeze: false }).routes;
}

const impls: readonly Impl[] = [
  { name: 'indexed', build: (routes) => compileSnapshot(irOf(routes), 1, { freeze: false }).table },
  { name: 'linear reference', build: (routes) => new LinearRouteTable(compiled(routes)) },
];

interface Case {
  readonly name: string;
  /** Route specs in evaluation order: the i-th gets order i. */
  readonly routes: readonly RouteSpec[];
  /** Request and the expected winning order (null: no route). */
  readonly expect: readonly [RequestSpec, number | null][];
}

const exactHost = (value: string): IrHostMatch => ({ kind: 'exact', value });
const suffixHost = (value: string): IrHostMatch => ({ kind: 'suffix', value });
const prefixHost = (value: string): IrHostMatch => ({ kind: 'prefix', value });
const hdr = (name: string, kind: IrValueMatch['kind'], value = ''): IrValueMatch => ({ name, kind, value });

const cases: readonly Case[] = [
  {
    name: 'prefix is a raw string prefix (/man matches /mankind), case-sensitive by default',
    routes: [{ path: '/man' }],
    expect: [
      [{ path: '/man' }, 0],
      [{ path: '/mankind' }, 0],
      [{ path: '/man/x' }, 0],
      [{ path: '/ma' }, null],
      [{ path: '/Man' }, null],
      [{ path: '/' }, null],
    ],
  },
  {
    name: 'longer prefix first, shorter prefix catches the rest',
    routes: [{ path: '/api/v1/' }, { path: '/api/' }, { path: '/' }],
    expect: [
      [{ path: '/api/v1/users' }, 0],
      [{ path: '/api/v2/users' }, 1],
      [{ path: '/api/v1' }, 1],
      [{ path: '/other' }, 2],
    ],
  },
  {
    name: 'case-insensitive prefix (ASCII folding)',
    routes: [{ path: { value: '/API/', caseSensitive: false } }],
    expect: [
      [{ path: '/api/x' }, 0],
      [{ path: '/Api/X' }, 0],
      [{ path: '/API/' }, 0],
      [{ path: '/ap' }, null],
      [{ path: '/apix' }, null],
    ],
  },
  {
    name: 'case-sensitive and case-insensitive prefixes sharing a stem',
    routes: [{ path: '/Ab' }, { path: { value: '/ab', caseSensitive: false } }, { path: '/a' }],
    expect: [
      [{ path: '/Abc' }, 0],
      [{ path: '/abc' }, 1],
      [{ path: '/ABC' }, 1],
      [{ path: '/aX' }, 2],
    ],
  },
  {
    name: 'exact path, case-sensitive and not',
    routes: [
      { path: { kind: 'exact', value: '/exact' } },
      { path: { kind: 'exact', value: '/Other', caseSensitive: false } },
    ],
    expect: [
      [{ path: '/exact' }, 0],
      [{ path: '/exact/' }, null],
      [{ path: '/Exact' }, null],
      [{ path: '/exac' }, null],
      [{ path: '/other' }, 1],
      [{ path: '/OTHER' }, 1],
    ],
  },
  {
    name: 'regex path is a full match over the whole path; case_sensitive does not apply',
    routes: [{ path: { kind: 'regex', value: '/users/[0-9]+', caseSensitive: false } }],
    expect: [
      [{ path: '/users/12' }, 0],
      [{ path: '/users/12/x' }, null],
      [{ path: '/x/users/12' }, null],
      [{ path: '/Users/12' }, null],
    ],
  },
  {
    name: 'regex alternation is anchored as a whole',
    routes: [{ path: { kind: 'regex', value: '/a|/b' } }],
    expect: [
      [{ path: '/a' }, 0],
      [{ path: '/b' }, 0],
      [{ path: '/ab' }, null],
      [{ path: '/xb' }, null],
    ],
  },
  {
    name: 'host forms: exact, suffix wildcard, prefix wildcard, any',
    routes: [
      { host: exactHost('foo.example.com'), path: '/' },
      { host: suffixHost('.example.com'), path: '/' },
      { host: prefixHost('foo.example.'), path: '/' },
      { path: '/' },
    ],
    expect: [
      [{ host: 'foo.example.com' }, 0],
      [{ host: 'bar.example.com' }, 1],
      [{ host: 'a.b.example.com' }, 1],
      [{ host: 'example.com' }, 3],
      [{ host: 'foo.example.org' }, 2],
      [{ host: 'foo.example' }, 3],
      [{ host: 'other.org' }, 3],
      [{ host: '' }, 3],
    ],
  },
  {
    name: 'a host matching both a suffix and a prefix wildcard: the lower order wins',
    routes: [
      { host: prefixHost('foo.'), path: '/p' },
      { host: suffixHost('.example.com'), path: '/' },
      { host: prefixHost('foo.'), path: '/' },
    ],
    expect: [
      [{ host: 'foo.example.com', path: '/p' }, 0],
      [{ host: 'foo.example.com', path: '/q' }, 1],
      [{ host: 'foo.other.org', path: '/q' }, 2],
      [{ host: 'bar.example.com', path: '/p' }, 1],
    ],
  },
  {
    name: 'several suffix wildcards of different lengths all apply',
    routes: [
      { host: suffixHost('.example.com'), path: '/long' },
      { host: suffixHost('.b.example.com'), path: '/' },
      { host: suffixHost('.com'), path: '/' },
    ],
    expect: [
      [{ host: 'a.b.example.com', path: '/long' }, 0],
      [{ host: 'a.b.example.com', path: '/x' }, 1],
      [{ host: 'a.example.com', path: '/x' }, 2],
      [{ host: 'b.example.com', path: '/x' }, 2],
      [{ host: 'example.org', path: '/x' }, null],
    ],
  },
  {
    name: 'globs without a dot boundary are raw suffix/prefix matches',
    routes: [{ host: suffixHost('example.com') }, { host: prefixHost('foo') }],
    expect: [
      [{ host: 'fooexample.com' }, 0],
      [{ host: 'example.com' }, 0],
      [{ host: 'foobar.org' }, 1],
      [{ host: 'barfoo.org' }, null],
    ],
  },
  {
    name: 'host_regex is a full match over the authority as sent, port included',
    routes: [{ host: { kind: 'regex', value: '[a-z]+\\.example\\.com:8080' } }, { path: '/' }],
    expect: [
      [{ authority: 'foo.example.com:8080' }, 0],
      [{ authority: 'foo.example.com' }, 1],
      [{ authority: 'foo.example.com:80800' }, 1],
    ],
  },
  {
    name: 'method exact and method regex (full match)',
    routes: [
      { method: { value: 'POST', regex: false } },
      { method: { value: 'GET|HEAD', regex: true } },
      { path: '/' },
    ],
    expect: [
      [{ method: 'POST' }, 0],
      [{ method: 'GET' }, 1],
      [{ method: 'HEAD' }, 1],
      [{ method: 'GETX' }, 2],
      [{ method: 'post' }, 2],
    ],
  },
  {
    name: 'headers: exact, regex (full match), present; repeated values joined with ","',
    routes: [
      { headers: [hdr('x-env', 'exact', 'prod')] },
      { headers: [hdr('x-v', 'regex', 'v[0-9]')] },
      { headers: [hdr('x-debug', 'present')] },
      { headers: [hdr('cookie', 'exact', 'a,b')] },
      { path: '/' },
    ],
    expect: [
      [{ headers: { 'x-env': 'prod' } }, 0],
      [{ headers: { 'x-env': 'production' } }, 4],
      [{ headers: { 'x-v': 'v1' } }, 1],
      [{ headers: { 'x-v': 'v12' } }, 4],
      [{ headers: { 'x-debug': '' } }, 2],
      [{ headers: { 'x-debug': undefined } }, 4],
      [{ headers: { cookie: ['a', 'b'] } }, 3],
      [{ headers: { 'x-env': 'prod', 'x-debug': '1' } }, 0],
    ],
  },
  {
    name: 'all header conditions must hold',
    routes: [{ headers: [hdr('a', 'exact', '1'), hdr('b', 'present')] }],
    expect: [
      [{ headers: { a: '1', b: 'x' } }, 0],
      [{ headers: { a: '1' } }, null],
      [{ headers: { b: 'x' } }, null],
    ],
  },
  {
    name: 'pseudo-headers :authority and :method',
    routes: [
      { headers: [hdr(':authority', 'exact', 'Foo:81')] },
      { headers: [hdr(':method', 'regex', 'P.*')] },
    ],
    expect: [
      [{ authority: 'Foo:81' }, 0],
      [{ authority: 'foo:81' }, null],
      [{ method: 'PUT' }, 1],
    ],
  },
  {
    name: 'query: exact, regex, present; first value wins; no decoding',
    routes: [
      { query: [hdr('a', 'exact', '1')] },
      { query: [hdr('b', 'regex', '[0-9]+')] },
      { query: [hdr('c', 'present')] },
      { path: '/' },
    ],
    expect: [
      [{ query: 'a=1' }, 0],
      [{ query: 'x=0&a=1' }, 0],
      [{ query: 'a=2&a=1' }, 3],
      [{ query: 'a=%31' }, 3],
      [{ query: 'b=42' }, 1],
      [{ query: 'b=4x' }, 3],
      [{ query: 'c' }, 2],
      [{ query: 'c=' }, 2],
      [{ query: 'cc=1' }, 3],
      [{ query: '' }, 3],
    ],
  },
  {
    name: 'precedence ordering: a shorter prefix placed first wins over a longer one',
    routes: [{ path: '/', precedence: 10 }, { path: '/api/' }],
    expect: [
      [{ path: '/api/x' }, 0],
      [{ path: '/x' }, 0],
    ],
  },
  {
    name: 'equal match, different order: the lower order wins',
    routes: [{ path: '/same' }, { path: '/same' }],
    expect: [[{ path: '/same/x' }, 0]],
  },
  {
    name: 'a failing predicate on the first route falls through to the next one',
    routes: [{ path: '/a', method: { value: 'POST', regex: false } }, { path: '/a' }, { path: '/' }],
    expect: [
      [{ path: '/a', method: 'POST' }, 0],
      [{ path: '/a', method: 'GET' }, 1],
    ],
  },
  {
    name: 'no routes: no match',
    routes: [],
    expect: [[{ path: '/' }, null]],
  },
];

for (const impl of impls) {
  describe(`route table conformance: ${impl.name}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const table = impl.build(c.routes.map((spec, i) => irRoute(i, spec)));
        assert.equal(table.size, c.routes.length);
        for (const [reqSpec, want] of c.expect) {
          const got = table.match(request(reqSpec));
          assert.equal(got === null ? null : got.order, want, `request ${JSON.stringify(reqSpec)}`);
        }
      });
    }
  });
}

// ---- Property test: indexed == linear on random route sets and requests ----

const hostPool = [
  'a.example.com',
  'b.example.com',
  'example.com',
  'a.b.example.com',
  'a.example.org',
  'other',
  '',
];
const hostMatchArb: fc.Arbitrary<IrHostMatch> = fc.oneof(
  fc.constant<IrHostMatch>({ kind: 'any' }),
  fc.constantFrom(...hostPool.slice(0, 6)).map((value): IrHostMatch => ({ kind: 'exact', value })),
  fc
    .constantFrom('.example.com', '.b.example.com', '.com', 'example.com', '.org')
    .map((value): IrHostMatch => ({ kind: 'suffix', value })),
  fc
    .constantFrom('a.', 'a.example.', 'a.b.', 'b', 'a.ex')
    .map((value): IrHostMatch => ({ kind: 'prefix', value })),
  fc.constantFrom('a\\..*', '.*\\.org(:[0-9]+)?').map((value): IrHostMatch => ({ kind: 'regex', value })),
);
const stems = ['/', '/a', '/ab', '/abc', '/a/', '/a/b', '/A', '/Ab', '/api', '/api/', '/api/v1', ''];
const pathMatchArb: fc.Arbitrary<IrPathMatch> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ value: fc.constantFrom(...stems), caseSensitive: fc.boolean() })
      .map((p): IrPathMatch => ({ kind: 'prefix', ...p })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ value: fc.constantFrom(...stems), caseSensitive: fc.boolean() })
      .map((p): IrPathMatch => ({ kind: 'exact', ...p })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '/a.*',
        '/ab?c?',
        '/[a-c]+/.*',
        '/api/v[0-9]+',
        '.*b.*',
        '/A.*',
        '/a|/b.*',
        '/a(b|c)+',
        '/ab*',
        '/api/(v1|v2)?.*',
        '^/a/.*',
      )
      .map((value): IrPathMatch => ({ kind: 'regex', value, caseSensitive: true })),
  },
);
const valueMatchArb = (names: readonly string[]): fc.Arbitrary<IrValueMatch> =>
  fc.oneof(
    fc.record({
      name: fc.constantFrom(...names),
      kind: fc.constant('exact' as const),
      value: fc.constantFrom('1', '2', 'x'),
    }),
    fc.record({
      name: fc.constantFrom(...names),
      kind: fc.constant('regex' as const),
      value: fc.constantFrom('[0-9]', 'x|y', '.*'),
    }),
    fc.record({
      name: fc.constantFrom(...names),
      kind: fc.constant('present' as const),
      value: fc.constant(''),
    }),
  );
const routeSpecArb: fc.Arbitrary<RouteSpec> = fc.record({
  path: pathMatchArb,
  host: hostMatchArb,
  method: fc.option(
    fc.oneof(
      fc.constantFrom('GET', 'POST').map((value) => ({ value, regex: false })),
      fc.constant({ value: 'GET|PUT', regex: true }),
    ),
    { nil: undefined },
  ),
  headers: fc.array(valueMatchArb(['x-a', 'x-b']), { maxLength: 2 }),
  query: fc.array(valueMatchArb(['q', 'r']), { maxLength: 2 }),
});
const headerValueArb = fc.option(
  fc.oneof(
    fc.constantFrom('1', '2', 'x', 'y', ''),
    fc.constant(['1', '2']).map((v) => [...v]),
  ),
  {
    nil: undefined,
  },
);
const requestArb: fc.Arbitrary<MatchRequest> = fc
  .record({
    host: fc.constantFrom(...hostPool),
    port: fc.constantFrom('', ':8080'),
    path: fc
      .array(fc.constantFrom('/', 'a', 'b', 'c', 'A', 'B', 'p', 'i', 'v', '1'), { maxLength: 8 })
      .map((cs) => '/' + cs.join('')),
    method: fc.constantFrom('GET', 'POST', 'PUT'),
    xa: headerValueArb,
    xb: headerValueArb,
    query: fc
      .array(fc.tuple(fc.constantFrom('q', 'r', 's'), fc.constantFrom('', '=1', '=2', '=x', '=y')), {
        maxLength: 3,
      })
      .map((ps) => ps.map(([k, v]) => k + v).join('&')),
  })
  .map((r) =>
    request({
      host: r.host,
      authority: r.host + r.port,
      path: r.path,
      method: r.method,
      query: r.query,
      headers: { 'x-a': r.xa, 'x-b': r.xb },
    }),
  );

test('property: the indexed table returns exactly the route the linear reference returns', () => {
  fc.assert(
    fc.property(
      fc.array(routeSpecArb, { minLength: 0, maxLength: 40 }),
      fc.array(requestArb, { minLength: 1, maxLength: 30 }),
      (specs, requests) => {
        const routes = compiled(specs.map((spec, i) => irRoute(i, spec)));
        const indexed = compileSnapshot(irOf(routes.map((r) => r.ir)), 1, { freeze: false }).table;
        const linear = new LinearRouteTable(routes);
        for (const req of requests) {
          const a = indexed.match(req);
          const b = linear.match(req);
          assert.equal(a?.order ?? null, b?.order ?? null, JSON.stringify(req));
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('property: routes given out of order are matched by order, not by position', () => {
  fc.assert(
    fc.property(fc.array(routeSpecArb, { minLength: 1, maxLength: 20 }), requestArb, (specs, req) => {
      const inOrder = specs.map((spec, i) => irRoute(i, spec));
      const shuffled = [...inOrder].reverse();
      const a = compileSnapshot(irOf(inOrder), 1, { freeze: false }).table.match(req);
      const b = compileSnapshot(irOf(shuffled), 1, { freeze: false }).table.match(req);
      assert.equal(a?.order ?? null, b?.order ?? null);
    }),
    { numRuns: 200 },
  );
});
