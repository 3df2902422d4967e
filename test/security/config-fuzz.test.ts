/**
 * Property-based fuzz of the configuration pipeline: file text → `parseConfigText` (the file
 * source's lazy mode) → `buildResourceSet` → `buildIr` → `attachFieldLines` → `compileSnapshot`
 * → route lookup; and the same against one live gateway whose configuration directory gets a
 * hostile file next to a valid one.
 *
 * Properties:
 * 1. Random text (arbitrary strings, random bytes, YAML/JSON of random values, Kubernetes-shaped
 *    objects with random contents, generated and broken YAML streams) never throws anywhere in
 *    the pipeline, and every status is well formed (`checkStatuses`): problems come back as
 *    conditions on a named object, field errors name the field, no internal error was masked.
 * 2. Mutated valid resources (the `test/fixtures/<case>/input.yaml` objects, some of them mutated
 *    and moved to a second file): no throw; an object NOT mutated keeps every route it had without
 *    the mutated ones unless a new condition on it says why (a duplicate name, a canary group
 *    overflow, a route conflict, a Service it needs…); every route in the table is found by a
 *    lookup for its own match (it or a route evaluated earlier); mutated objects are served or
 *    carry a condition.
 * 3. Live: a gateway serving a valid Mapping to a real upstream keeps answering 200 on it and
 *    stays ready while a second file in its directory is rewritten with random and mutated text.
 *
 * Runs: modest by default so the file stays well under 20 s; `LEGATE_FC_RUNS=<n>` scales the
 * offline properties for a deep local search and `LEGATE_FC_SEED` replays one seed (fast-check
 * prints the seed and path of every counterexample).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { request } from 'undici';
import YAML from 'yaml';
import type { LocalDataPlane } from '../../src/control/data-plane-host.js';
import { buildIr } from '../../src/ir/build.js';
import type { Ir, IrRoute } from '../../src/ir/types.js';
import { buildResourceSet } from '../../src/resources/build.js';
import type { ResourceLocation } from '../../src/resources/key.js';
import {
  Reason,
  ResourceState,
  type ResourceStatus,
  type SourceSnapshot,
} from '../../src/resources/types.js';
import { type CompileProblem, compileSnapshot } from '../../src/snapshot/compile.js';
import type { MatchRequest, Snapshot } from '../../src/snapshot/types.js';
import { attachFieldLines, snapshotTexts } from '../../src/sources/file/field-lines.js';
import { parseConfigText } from '../../src/sources/file/parse.js';
import { mutatedStream, yamlStream } from '../../src/sources/file/yaml-test-support.js';
import { docs, mapping, startTestGateway, startUpstream } from '../integration/gateway-harness.js';

const kRunScale = Number(process.env['LEGATE_FC_RUNS']) || 0;
function fcParams(fallback: number): fc.Parameters<unknown> {
  const seed = Number(process.env['LEGATE_FC_SEED']);
  return {
    numRuns: kRunScale || fallback,
    includeErrorInReport: true,
    ...(Number.isInteger(seed) && process.env['LEGATE_FC_SEED'] ? { seed } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline, as the gateway runs it (main.ts buildIrFromSources + the data plane's compile).
// main.ts is not imported: it pulls in the whole data plane, which this file does not exercise.

interface PipelineResult {
  readonly ir: Ir;
  readonly statuses: readonly ResourceStatus[];
  readonly snap: Snapshot;
  readonly compileProblems: readonly CompileProblem[];
}

function runPipeline(
  files: Readonly<Record<string, string>>,
  mode: 'lazy' | 'eager' = 'lazy',
): PipelineResult {
  const snapshot: SourceSnapshot = {
    source: 'file',
    objects: [],
    problems: [],
    texts: {},
  };
  const objects = [];
  const problems = [];
  const texts: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) {
    const text = files[name]!;
    const parsed = parseConfigText(text, name, 'file', { fieldLines: mode });
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
    if (parsed.ok) texts[name] = text;
  }
  const sets: SourceSnapshot[] = [{ ...snapshot, objects, problems, texts }];
  const resources = buildResourceSet(sets, { ambassadorId: 'default' });
  const ir = buildIr(resources, { ambassadorId: 'default', namespace: 'default' });
  const statuses = attachFieldLines(ir.statuses, snapshotTexts(sets));
  const compileProblems: CompileProblem[] = [];
  const snap = compileSnapshot(ir, 1, { onProblem: (p) => compileProblems.push(p) });
  return { ir, statuses, snap, compileProblems };
}

// ---------------------------------------------------------------------------------------------
// Invariants every build must hold, whatever went in.

const kReasons = new Set<string>(Object.values(Reason));
const kStates = new Set<string>(Object.values(ResourceState));
/** Reasons that are about one field: the condition must say which. */
const kFieldReasons = new Set<string>([Reason.MissingField, Reason.UnknownField, Reason.InvalidRegex]);
/** Messages the stages use when they catch an exception of their own: a masked crash. */
const kInternal = /internal error|could not be read/i;

function checkStatuses(r: PipelineResult): void {
  const keys = new Set<string>();
  for (const s of r.statuses) {
    const where = `${s.key} (${s.state})`;
    assert.equal(typeof s.key, 'string');
    assert.ok(s.key.length > 0, 'status without a key');
    assert.ok(!keys.has(s.key), `two statuses share the key ${s.key}`);
    keys.add(s.key);
    assert.ok(typeof s.kind === 'string' && s.kind.length > 0, `${where}: no kind`);
    assert.ok(typeof s.name === 'string' && s.name.length > 0, `${where}: no name`);
    assert.ok(kStates.has(s.state), `${where}: unknown state`);
    assert.ok(s.location && typeof s.location.source === 'string', `${where}: no location`);
    for (const c of s.conditions) {
      assert.ok(kReasons.has(c.reason), `${where}: unknown reason ${c.reason}`);
      assert.ok(typeof c.message === 'string' && c.message.length > 0, `${where}: empty message`);
      assert.equal(typeof c.critical, 'boolean');
      assert.ok(!kInternal.test(c.message), `${where}: an internal error was masked: ${c.message}`);
      // A field is a dotted path as written; it may be '' when the offending key itself is ''.
      if (c.field !== undefined) assert.equal(typeof c.field, 'string', where);
      if (kFieldReasons.has(c.reason)) {
        assert.ok(c.field !== undefined, `${where}: ${c.reason} names no field: ${c.message}`);
      }
    }
    if (s.state === ResourceState.Rejected) {
      assert.ok(
        s.conditions.some((c) => c.critical),
        `${where}: rejected without a critical condition`,
      );
    }
    if (s.state === ResourceState.Warning)
      assert.ok(s.conditions.length > 0, `${where}: warning without a condition`);
    if (s.state === ResourceState.Ignored)
      assert.ok(s.conditions.length > 0, `${where}: ignored without a note`);
  }
  // Every route comes from objects in use, and the IR only holds regexes that compile.
  const inUse = new Set(
    r.statuses.filter((s) => s.state === 'Accepted' || s.state === 'Warning').map((s) => s.key),
  );
  for (const route of r.ir.routes) {
    for (const src of route.sources)
      assert.ok(inUse.has(src), `route ${route.id} comes from ${src}, not in use`);
  }
  assert.deepEqual(
    r.compileProblems.map((p) => p.message),
    [],
    'a route of the IR did not compile (the IR build must have rejected it with a condition)',
  );
  assert.equal(r.snap.table.size, r.ir.routes.length);
  for (let i = 0; i < r.ir.routes.length; i++) assert.equal(r.ir.routes[i]!.order, i);
  checkLookups(r.snap);
}

/**
 * A request that satisfies `route`'s match, or null when one cannot be built by rule (regexes)
 * or could not arrive over HTTP (non-ASCII path or host: the stream sees percent-encoded bytes).
 */
function requestFor(route: IrRoute): MatchRequest | null {
  const m = route.match;
  if (m.path.kind === 'regex' || m.host.kind === 'regex' || m.method?.regex) return null;
  const ascii = /^[\x21-\x7e]*$/;
  let host: string;
  if (m.host.kind === 'any') host = 'fuzz.example';
  else if (m.host.kind === 'exact') host = m.host.value;
  else if (m.host.kind === 'suffix') host = `x${m.host.value}`;
  else host = `${m.host.value}x`;
  if (!ascii.test(host) || !m.path.value.startsWith('/') || !ascii.test(m.path.value)) return null;
  const headers: Record<string, string> = {};
  for (const h of m.headers) {
    if (h.kind === 'regex') return null;
    headers[h.name] = h.kind === 'exact' ? h.value : 'x';
  }
  const query: string[] = [];
  for (const q of m.query) {
    if (q.kind === 'regex') return null;
    query.push(`${encodeURIComponent(q.name)}=${encodeURIComponent(q.kind === 'exact' ? q.value : 'x')}`);
  }
  headers['host'] = host;
  return {
    method: m.method?.value ?? 'GET',
    host,
    authority: host,
    path: m.path.value,
    query: query.join('&'),
    headers,
  };
}

/** Every route a request can be built for is found: it, or a route evaluated before it. */
function checkLookups(snap: Snapshot): void {
  for (const route of snap.routes) {
    const req = requestFor(route.ir);
    if (!req) continue;
    const hit = snap.table.match(req);
    assert.ok(hit, `no route found for ${JSON.stringify(req)}; route ${route.id} should match it`);
    assert.ok(
      hit.order <= route.order,
      `lookup for route ${route.order} returned route ${hit.order}, which is evaluated after it`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Random text.

const kKinds = ['Mapping', 'Module', 'Service', 'EndpointSlice', 'Ingress', 'IngressClass', 'Host', 'List'];
const kApiVersions = [
  'getambassador.io/v3alpha1',
  'getambassador.io/v2',
  'getambassador.io/v1',
  'ambassador/v0',
  'ambassador/v1',
  'v1',
  'discovery.k8s.io/v1',
  'networking.k8s.io/v1',
  'x-k8s.io/v1',
];

/** Strings that tend to break code that assumes ASCII, short strings, or one code unit per character. */
const weirdString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff',
    '\u202e/admin',
    '\u0130',
    '\u00df',
    '\ufb00',
    '\u212a',
    'A\u030a',
    '\u{1f600}',
    '/\u00e9t\u00e9/',
    '/%2e%2e/',
    '/a/../b',
    '//',
    '\\',
    '%2F',
    '*',
    '*.',
    '.*',
    '**',
    '*.*',
    '[::1]',
    ':',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const k8sShaped = fc
  .record({
    apiVersion: fc.oneof(fc.constantFrom(...kApiVersions), weirdString),
    kind: fc.oneof(fc.constantFrom(...kKinds), weirdString),
    metadata: fc.oneof(
      fc.record(
        {
          name: fc.oneof(
            fc.constantFrom('a', 'ambassador', 'svc'),
            weirdString,
            fc.jsonValue({ maxDepth: 1 }),
          ),
          namespace: fc.oneof(fc.constantFrom('default', 'other'), weirdString),
          annotations: fc.dictionary(
            fc.constantFrom('getambassador.io/config', 'kubernetes.io/ingress.class', 'x'),
            fc.oneof(
              weirdString,
              fc.jsonValue({ maxDepth: 2 }).map((v) => YAML.stringify(v)),
            ),
          ),
          labels: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    spec: fc.oneof(fc.anything({ maxDepth: 3 }), fc.object({ maxDepth: 3 })),
  })
  .map((o) => YAML.stringify(o));

const randomText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.anything({ maxDepth: 4 }).map((v) => {
    try {
      // yaml's stringify gives undefined (despite its type) for undefined and functions.
      return (YAML.stringify(v) as string | undefined) ?? String(v);
    } catch {
      return String(v);
    }
  }),
  fc.object({ maxDepth: 4 }).map((v) => YAML.stringify(v)),
  fc.array(k8sShaped, { minLength: 1, maxLength: 4 }).map((d) => d.join('---\n')),
  yamlStream,
  mutatedStream,
);

test('random text through parse → resources → IR → snapshot: never throws, every problem is a condition', () => {
  fc.assert(
    fc.property(randomText, randomText, fc.constantFrom<'lazy' | 'eager'>('lazy', 'eager'), (a, b, mode) => {
      const r = runPipeline({ 'a.yaml': a, 'b.json': b }, mode);
      checkStatuses(r);
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Mutated valid resources.

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
/** Each fixture's objects, as parsed (plain JSON data). */
const kFixtures: readonly { name: string; text: string; objects: readonly unknown[] }[] = readdirSync(
  fixturesDir,
  {
    withFileTypes: true,
  },
)
  .filter((d) => d.isDirectory())
  .map((d) => {
    const text = readFileSync(join(fixturesDir, d.name, 'input.yaml'), 'utf8');
    return {
      name: d.name,
      text,
      objects: parseConfigText(text, 'input.yaml', 'file').objects.map((o) => o.object),
    };
  })
  .filter((f) => f.objects.length > 0)
  .sort((a, b) => (a.name < b.name ? -1 : 1));

test('the fixtures give the mutation property something to work with', () => {
  assert.ok(kFixtures.length >= 20, `only ${kFixtures.length} fixtures with objects`);
  // Re-serialised as the property writes them, the objects read as the fixture's own text does.
  let inUse = 0;
  for (const f of kFixtures) {
    const states = (r: PipelineResult) => r.statuses.map((s) => `${s.key}=${s.state}`);
    const original = states(runPipeline({ 'input.yaml': f.text }));
    assert.deepEqual(states(runPipeline({ 'input.yaml': yamlDocs(f.objects) })), original, f.name);
    inUse += original.filter((s) => s.endsWith('=Accepted') || s.endsWith('=Warning')).length;
  }
  assert.ok(inUse > 50, `only ${inUse} fixture objects in use`);
});

const kBadPatterns = [
  '(',
  '[',
  '*',
  '+',
  'a{2,1}',
  '[z-a]',
  '(?P<x>a)',
  '(?<n>a)\\k<m>',
  '\\',
  'a++',
  '(?i)abc',
  '\\p{L}',
  '\\1(a)',
  '(?<=a)b',
  '(a|b',
  ')',
  '\\Q.\\E',
  '[[:alpha:]]',
  '.*'.repeat(40),
  '(a*)*$',
];
const kHugeNumbers = [
  1e308,
  -1e308,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  -1,
  -0,
  0.5,
  -0.5,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  Number.MIN_VALUE,
];
/** Fields that hold regexes, and the flag that makes them one. */
const kRegexFields: readonly [path: string[], flag: string | null][] = [
  [['spec', 'prefix'], 'prefix_regex'],
  [['spec', 'host'], 'host_regex'],
  [['spec', 'method'], 'method_regex'],
  [['spec', 'regex_headers', 'x-fuzz'], null],
  [['spec', 'regex_query_parameters', 'q'], null],
  [['spec', 'regex_rewrite', 'pattern'], null],
  [['spec', 'regex_redirect', 'pattern'], null],
];
/** Fields where odd text shows up first: names, hosts, prefixes. */
const kTextFields: readonly string[][] = [
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['spec', 'hostname'],
  ['spec', 'host'],
  ['spec', 'prefix'],
  ['spec', 'service'],
  ['spec', 'rewrite'],
  ['spec', 'rules', '0', 'host'],
  ['spec', 'rules', '0', 'http', 'paths', '0', 'path'],
  ['spec', 'ingressClassName'],
];

type Op =
  | { readonly op: 'delete'; readonly pick: number }
  | { readonly op: 'set'; readonly pick: number; readonly value: unknown }
  | { readonly op: 'add'; readonly pick: number; readonly key: string; readonly value: unknown }
  | { readonly op: 'regex'; readonly pick: number; readonly pattern: string }
  | { readonly op: 'text'; readonly pick: number; readonly value: string }
  | { readonly op: 'duplicate'; readonly pick: number }
  | { readonly op: 'retype'; readonly apiVersion: string; readonly kind: string };

const longString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 1_000, max: 20_000 }))
  .map(([s, n]) => s.repeat(n));
const mutationValue = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: fc.constantFrom(...kHugeNumbers) },
  { weight: 2, arbitrary: fc.integer({ min: -1_000_000, max: -1 }) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: longString },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.constantFrom({}, [], null, true, false, '0', '-1', '1e9') },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: mutationValue }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.oneof(
      fc.constantFrom(
        'weight',
        'precedence',
        'timeout_ms',
        'prefix_regex',
        'case_sensitive',
        'host',
        'shadow',
      ),
      weirdString,
    ),
    value: mutationValue,
  }),
  fc.record({
    op: fc.constant('regex' as const),
    pick: fc.nat(),
    pattern: fc.oneof(fc.constantFrom(...kBadPatterns), fc.string({ maxLength: 10 })),
  }),
  fc.record({ op: fc.constant('text' as const), pick: fc.nat(), value: fc.oneof(weirdString, longString) }),
  fc.record({ op: fc.constant('duplicate' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('retype' as const),
    apiVersion: fc.oneof(fc.constantFrom(...kApiVersions), weirdString),
    kind: fc.oneof(fc.constantFrom(...kKinds), weirdString),
  }),
);

type Json = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** Every path to a value inside `v` (containers included, the root excluded). */
function paths(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (!isContainer(v)) return out;
  for (const k of Object.keys(v)) {
    const p = [...prefix, k];
    out.push(p);
    paths((v as Record<string, unknown>)[k], p, out);
  }
  return out;
}

/** Sets `path` in `root`, creating plain objects on the way (replacing scalars in the way). */
function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur: Record<string, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]!];
    if (!isContainer(next)) cur[path[i]!] = {};
    cur = cur[path[i]!] as Record<string, unknown>;
  }
  Object.defineProperty(cur, path[path.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function getPath(root: unknown, path: readonly string[]): unknown {
  let cur = root;
  for (const k of path) {
    if (!isContainer(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function mutate(obj: unknown, ops: readonly Op[], others: readonly unknown[]): unknown {
  const root = (isContainer(obj) && !Array.isArray(obj) ? structuredClone(obj) : {}) as Record<
    string,
    unknown
  >;
  for (const o of ops) {
    const all = paths(root);
    switch (o.op) {
      case 'delete': {
        if (all.length === 0) break;
        const p = all[o.pick % all.length]!;
        const parent = getPath(root, p.slice(0, -1));
        if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
        else if (isContainer(parent)) Reflect.deleteProperty(parent, p[p.length - 1]!);
        break;
      }
      case 'set':
        if (all.length > 0) setPath(root, all[o.pick % all.length]!, o.value);
        break;
      case 'add': {
        const containers = [[], ...all.filter((p) => isContainer(getPath(root, p)))];
        const at = containers[o.pick % containers.length]!;
        const target = at.length === 0 ? root : getPath(root, at);
        if (Array.isArray(target)) target.push(o.value);
        else setPath(root, [...at, o.key], o.value);
        break;
      }
      case 'regex': {
        const [path, flag] = kRegexFields[o.pick % kRegexFields.length]!;
        setPath(root, path, o.pattern);
        if (flag) setPath(root, ['spec', flag], true);
        break;
      }
      case 'text':
        setPath(root, kTextFields[o.pick % kTextFields.length]!, o.value);
        break;
      case 'duplicate': {
        const other = others[o.pick % Math.max(1, others.length)];
        const meta = getPath(other, ['metadata']);
        if (isContainer(meta)) setPath(root, ['metadata'], structuredClone(meta));
        break;
      }
      case 'retype':
        root['apiVersion'] = o.apiVersion;
        root['kind'] = o.kind;
        break;
    }
  }
  return root;
}

function yamlDocs(objects: readonly unknown[]): string {
  return objects.map((o) => YAML.stringify(o)).join('---\n');
}

/** A status's place in the file: stable between two builds that read the same text. */
function placeOf(loc: ResourceLocation): string {
  return `${loc.file}:${loc.docIndex}:${loc.line}`;
}

function placesIn(statuses: readonly ResourceStatus[], file: string): Map<string, ResourceStatus> {
  const out = new Map<string, ResourceStatus>();
  const seen = new Map<string, number>();
  for (const s of statuses) {
    if (s.location.file !== file) continue;
    const place = placeOf(s.location);
    const n = (seen.get(place) ?? 0) + 1;
    seen.set(place, n);
    out.set(`${place}#${n}`, s);
  }
  return out;
}

const condId = (c: ResourceStatus['conditions'][number]) =>
  `${c.reason}|${c.field ?? ''}|${c.critical}|${c.message}`;

/**
 * An unmutated object served without the mutated ones is still served with them, unless the
 * build says why not (a condition on it that the build without them did not have).
 */
function checkUnmutatedKeptServing(alone: PipelineResult, mixed: PipelineResult, file: string): number {
  const before = placesIn(alone.statuses, file);
  const after = placesIn(mixed.statuses, file);
  assert.equal(after.size, before.size, 'the unmutated file gave a different number of statuses');
  let kept = 0;
  for (const [place, a] of before) {
    const b = after.get(place);
    assert.ok(b, `status of ${a.key} at ${place} vanished`);
    const had = new Set(a.conditions.map(condId));
    const news = b.conditions.filter((c) => !had.has(condId(c)));
    if (news.length > 0) continue;
    const where = `${a.key} (now ${b.key})`;
    if (a.state !== ResourceState.Rejected) {
      assert.notEqual(b.state, ResourceState.Rejected, `${where} was rejected without a new condition`);
    }
    for (const route of alone.ir.routes) {
      if (!route.sources.includes(a.key)) continue;
      const match = JSON.stringify(route.match);
      const still = mixed.ir.routes.find(
        (r) => r.sources.includes(b.key) && JSON.stringify(r.match) === match,
      );
      assert.ok(still, `${where} lost its route ${match} without a new condition`);
      kept++;
    }
  }
  return kept;
}

/** A mutated object is either in use or carries the condition that says why not. */
function checkMutatedAccountedFor(mixed: PipelineResult, file: string): void {
  for (const s of mixed.statuses) {
    if (s.location.file !== file) continue;
    if (s.state === ResourceState.Accepted) continue;
    assert.ok(s.conditions.length > 0, `${s.key} is ${s.state} without a condition`);
  }
}

const mutationCase = fc
  .record({
    fixture: fc.nat(),
    /** Bit i set: object i is mutated (at least one is). */
    mask: fc.nat(),
    ops: fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 8, maxLength: 8 }),
    /** The mutated file sorts before the unmutated one (it then wins identity clashes) or after. */
    first: fc.boolean(),
    json: fc.boolean(),
    junk: fc.array(
      fc.oneof(
        fc.anything({ maxDepth: 2 }),
        k8sShaped.map((t) => YAML.parse(t, { logLevel: 'error' }) as unknown),
      ),
      {
        maxLength: 2,
      },
    ),
  })
  .map((c) => {
    const fx = kFixtures[c.fixture % kFixtures.length]!;
    const n = fx.objects.length;
    const mask = c.mask % 2 ** Math.min(n, 30) || 1;
    return { ...c, fx, mask };
  });

test('mutated valid resources: no throw; unmutated objects keep serving; mutated ones are served or explained', () => {
  let routesKept = 0;
  let mutatedRejected = 0;
  let mutatedServed = 0;
  fc.assert(
    fc.property(mutationCase, (c) => {
      const base: unknown[] = [];
      const mutated: unknown[] = [];
      c.fx.objects.forEach((o, i) => {
        if (i < 30 && (c.mask >> i) & 1) mutated.push(mutate(o, c.ops[i % c.ops.length]!, c.fx.objects));
        else base.push(o);
      });
      mutated.push(...c.junk);
      const mutatedFile = c.first ? 'a-mutated' : 'z-mutated';
      const mutatedName = `${mutatedFile}.${c.json ? 'json' : 'yaml'}`;
      const mutatedText = c.json
        ? mutated.map((o) => JSON.stringify(o) ?? 'null').join('\n---\n')
        : yamlDocs(mutated);
      const baseText = yamlDocs(base);
      const alone = runPipeline({ 'm-base.yaml': baseText });
      const mixed = runPipeline({ 'm-base.yaml': baseText, [mutatedName]: mutatedText });
      checkStatuses(alone);
      checkStatuses(mixed);
      routesKept += checkUnmutatedKeptServing(alone, mixed, 'm-base.yaml');
      checkMutatedAccountedFor(mixed, mutatedName);
      for (const s of mixed.statuses) {
        if (s.location.file !== mutatedName) continue;
        if (s.state === 'Rejected') mutatedRejected++;
        else if (s.state === 'Accepted' || s.state === 'Warning') mutatedServed++;
      }
    }),
    fcParams(500),
  );
  // The property must have had teeth: routes were compared, and mutations went both ways.
  assert.ok(routesKept > 100, `only ${routesKept} unmutated routes were checked`);
  assert.ok(mutatedRejected > 50, `only ${mutatedRejected} mutated objects were rejected`);
  assert.ok(mutatedServed > 20, `only ${mutatedServed} mutated objects were served`);
});

// ---------------------------------------------------------------------------------------------
// 3. Live: one gateway, a valid Mapping, and a hostile file next to it.

/** A whole file's text: random, or a fixture with some objects mutated. */
const liveText = fc.oneof(
  randomText,
  mutationCase.map((c) => {
    const objects = c.fx.objects.map((o, i) =>
      i < 30 && (c.mask >> i) & 1 ? mutate(o, c.ops[i % c.ops.length]!, c.fx.objects) : o,
    );
    return c.json ? objects.map((o) => JSON.stringify(o) ?? 'null').join('\n---\n') : yamlDocs(objects);
  }),
);

test('live gateway: the valid route answers 200 and /ready stays 200 while a second file is fuzzed', async (t) => {
  const upstream = await startUpstream('valid');
  t.after(() => upstream.close());
  const validKey = 'Mapping/default/valid';
  const gw = await startTestGateway({
    '00-valid.yaml': docs(
      mapping('valid', {
        hostname: 'valid.legate.test',
        prefix: '/valid/',
        service: `127.0.0.1:${upstream.port}`,
      }),
    ),
  });
  t.after(() => gw.close());
  const probe: MatchRequest = {
    method: 'GET',
    host: 'valid.legate.test',
    authority: 'valid.legate.test',
    path: '/valid/x',
    query: '',
    headers: { host: 'valid.legate.test' },
  };
  let round = 0;
  let answered = 0;
  let shadowed = 0;
  await fc.assert(
    fc.asyncProperty(liveText, fc.boolean(), async (text, json) => {
      round++;
      // The fuzzed file first, then a marker: once the marker is live, so is the fuzzed text.
      await gw.write(`fuzz.${json ? 'json' : 'yaml'}`, text);
      await rm(join(gw.dir, `fuzz.${json ? 'yaml' : 'json'}`), { force: true });
      await gw.write(
        'zz-marker.yaml',
        docs(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `round-${round}` } })),
      );
      const ir = await gw.waitForIr((i) =>
        i.statuses.some((s) => s.key === `ConfigMap/default/round-${round}`),
      );
      const valid = ir.statuses.find((s) => s.key === validKey);
      assert.ok(valid && (valid.state === 'Accepted' || valid.state === 'Warning'), JSON.stringify(valid));
      assert.ok(
        ir.routes.some((r) => r.sources.includes(validKey)),
        'the valid route left the IR',
      );
      // A fuzzed Mapping may legitimately take the request first (a higher precedence on a
      // catch-all); then the valid route is not the one answering, and only health is checked.
      const snap = (gw.gateway.host as LocalDataPlane).store.current!;
      const hit = snap.table.match(probe);
      if (hit?.ir.sources.includes(validKey)) {
        const res = await request(`${gw.url}/valid/x`, { headers: { host: 'valid.legate.test' } });
        const body = (await res.body.json()) as { name?: string };
        assert.equal(res.statusCode, 200);
        assert.equal(body.name, 'valid');
        answered++;
      } else {
        shadowed++;
      }
      const ready = await request(`${gw.adminUrl}/ready`);
      await ready.body.dump();
      assert.equal(ready.statusCode, 200);
    }),
    { ...fcParams(25), numRuns: Number(process.env['LEGATE_FC_LIVE_RUNS']) || 25, endOnFailure: true },
  );
  const alive = await request(`${gw.adminUrl}/alive`);
  await alive.body.dump();
  assert.equal(alive.statusCode, 200);
  assert.ok(answered >= round / 2, `the valid route answered in only ${answered} of ${round} rounds`);
  t.diagnostic(
    `${round} rounds: ${answered} answered by the valid route, ${shadowed} shadowed by a fuzzed one`,
  );
});
