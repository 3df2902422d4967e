/**
 * Routing micro-benchmark: the cost of `RouteTable.match` per request at 10 and 10,000 routes, and
 * the cost of `compileSnapshot` (time and retained heap) at 1,000 and 10,000 routes.
 *
 * Run: node --import tsx bench/routing/route-bench.ts
 *
 * Route sets are a realistic mix: many exact hosts, each with `/` and `/api/...` prefixes, some
 * header-gated and method-gated routes, a few wildcard hosts, a few regex paths on any host. Orders
 * follow Emissary's sort (precedence, then prefix length, then constraint length). Requests cycle
 * through a fixed, pre-built array (hits on many hosts, some header hits, some misses), so the
 * loop measures matching only. Numbers are the median of several timed rounds after a warm-up.
 * At 10,000 routes it runs twice: requests spread over all 2,000 hosts (every match touches cold
 * memory, so the figure is dominated by cache misses) and over 16 hot hosts (the algorithmic cost).
 * On a shared machine, rerun: figures vary with load.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { IrHostMatch, IrRoute, IrValueMatch } from '../../src/ir/types.js';
import { compileSnapshot } from '../../src/snapshot/compile.js';
import type { MatchRequest, RouteTable } from '../../src/snapshot/types.js';
import { irOf, irRoute, type RouteSpec, request } from '../../test/conformance/ir-route.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Spec extends RouteSpec {
  readonly sortLen: number;
}

function spec(partial: RouteSpec): Spec {
  const path = typeof partial.path === 'string' ? partial.path : (partial.path?.value ?? '/');
  let constraints = 0;
  for (const h of partial.headers ?? []) constraints += h.name.length + h.value.length;
  if (partial.host !== undefined && partial.host.kind !== 'any')
    constraints += 10 + partial.host.value.length;
  if (partial.method !== undefined) constraints += 7 + partial.method.value.length;
  return { ...partial, sortLen: path.length * 1000 + constraints };
}

/** Emissary-like evaluation order: precedence, then prefix length, then constraint length. */
function ordered(specs: Spec[]): IrRoute[] {
  specs.sort((a, b) => (b.precedence ?? 0) - (a.precedence ?? 0) || b.sortLen - a.sortLen);
  return specs.map((s, i) => irRoute(i, s));
}

const exact = (value: string): IrHostMatch => ({ kind: 'exact', value });
const header = (name: string, value: string): IrValueMatch => ({ name, kind: 'exact', value });

function routeSet(count: number): IrRoute[] {
  const specs: Spec[] = [];
  // A handful of global routes first: regex paths and wildcard hosts.
  const globals = Math.max(2, Math.floor(count / 200));
  for (let i = 0; i < globals && specs.length < count; i++) {
    specs.push(spec({ path: { kind: 'regex', value: `/legacy${i}/[0-9]+/.*` } }));
    if (specs.length < count)
      specs.push(spec({ host: { kind: 'suffix', value: `.tenant${i}.example.net` }, path: '/' }));
  }
  // Then hosts with a typical set of Mappings each.
  for (let h = 0; specs.length < count; h++) {
    const host = exact(`svc${h}.example.com`);
    const per: RouteSpec[] = [
      { host, path: '/' },
      { host, path: '/api/' },
      { host, path: `/api/v1/users/` },
      { host, path: `/api/v1/orders/`, method: { value: 'POST', regex: false } },
      { host, path: '/api/', headers: [header('x-canary', 'true')] },
    ];
    for (let i = 0; i < per.length && specs.length < count; i++) specs.push(spec(per[i]));
  }
  return ordered(specs);
}

/** `hostLimit` caps the distinct hosts requested (a hot set); by default they span every host. */
function requests(count: number, routes: number, hostLimit = Number.POSITIVE_INFINITY): MatchRequest[] {
  const hosts = Math.max(1, Math.min(hostLimit, Math.floor(routes / 5)));
  const out: MatchRequest[] = [];
  const paths = [
    '/',
    '/api/v1/users/42',
    '/api/v1/orders/7',
    '/api/v2/things',
    '/static/app.js',
    '/legacy0/12/x',
  ];
  for (let i = 0; i < count; i++) {
    const h = (i * 7919) % hosts;
    const miss = i % 17 === 0;
    out.push(
      request({
        host: miss ? `unknown${i}.example.org` : `svc${h}.example.com`,
        path: paths[i % paths.length],
        method: i % 3 === 0 ? 'POST' : 'GET',
        query: i % 5 === 0 ? 'page=2&sort=asc' : '',
        headers: i % 4 === 0 ? { 'x-canary': 'true', 'user-agent': 'bench' } : { 'user-agent': 'bench' },
      }),
    );
  }
  return out;
}

let sink = 0;

function nsPerMatch(table: RouteTable, reqs: MatchRequest[], iterations: number): number {
  const mask = reqs.length - 1; // power of two
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const r = table.match(reqs[i & mask]);
    if (r !== null) sink += r.order;
  }
  return Number(process.hrtime.bigint() - start) / iterations;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function benchMatch(routeCount: number, hostLimit?: number): { ns: number; hitRate: number } {
  const snap = compileSnapshot(irOf(routeSet(routeCount)), 1, { freeze: false });
  const reqs = requests(4096, routeCount, hostLimit);
  let hits = 0;
  for (const r of reqs) if (snap.table.match(r) !== null) hits++;
  nsPerMatch(snap.table, reqs, 500_000); // warm-up
  const rounds: number[] = [];
  for (let i = 0; i < 7; i++) rounds.push(nsPerMatch(snap.table, reqs, 1_000_000));
  return { ns: median(rounds), hitRate: hits / reqs.length };
}

/**
 * One measured compile in its own frame, so the previous snapshot is unreachable (not held by a
 * stale interpreter register) when the baseline heap is taken.
 */
function compileOnce(ir: ReturnType<typeof irOf>): { ms: number; heapMiB: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const snap = compileSnapshot(ir, 1, { freeze: false });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  const heapMiB = (process.memoryUsage().heapUsed - before) / (1024 * 1024);
  sink += snap.table.size;
  return { ms, heapMiB };
}

function benchCompile(routeCount: number): { ms: number; heapMiB: number; frozenMs: number } {
  const ir = irOf(routeSet(routeCount));
  compileSnapshot(ir, 1, { freeze: false }); // warm-up (JIT), result dropped
  const times: number[] = [];
  let heapMiB = 0;
  for (let i = 0; i < 5; i++) {
    const once = compileOnce(ir);
    times.push(once.ms);
    heapMiB = once.heapMiB;
  }
  // Freezing (tests and development only) on a fresh IR, since freezing is one-way.
  const fresh = irOf(routeSet(routeCount));
  const t0 = process.hrtime.bigint();
  compileSnapshot(fresh, 1, { freeze: true });
  const frozenMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms: median(times), heapMiB, frozenMs };
}

const m10 = benchMatch(10);
const m10k = benchMatch(10_000);
const m10kHot = benchMatch(10_000, 16);
console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
console.log('');
console.log('routing cost per request (median of 7 rounds x 1e6 matches, after warm-up)');
console.log('routes   ns/match  hit-rate');
console.log(`${'10'.padEnd(8)} ${m10.ns.toFixed(1).padStart(8)}  ${(m10.hitRate * 100).toFixed(0)}%`);
console.log(
  `${'10000'.padEnd(8)} ${m10k.ns.toFixed(1).padStart(8)}  ${(m10k.hitRate * 100).toFixed(0)}%  (requests spread over 2,000 hosts)`,
);
console.log(
  `${'10000'.padEnd(8)} ${m10kHot.ns.toFixed(1).padStart(8)}  ${(m10kHot.hitRate * 100).toFixed(0)}%  (requests over 16 hot hosts)`,
);
console.log(
  `ratio 10000/10: ${(m10k.ns / m10.ns).toFixed(2)}x spread, ${(m10kHot.ns / m10.ns).toFixed(2)}x hot`,
);
console.log('');
console.log('compileSnapshot (median of 5; heap retained by one snapshot after GC; freeze off = production)');
console.log('routes   ms        heap MiB  ms with freeze');
for (const n of [1_000, 10_000]) {
  const c = benchCompile(n);
  console.log(
    `${String(n).padEnd(8)} ${c.ms.toFixed(1).padStart(8)}  ${c.heapMiB.toFixed(1).padStart(8)}  ${c.frozenMs.toFixed(1).padStart(8)}`,
  );
}
if (sink === -1) console.log(sink);
