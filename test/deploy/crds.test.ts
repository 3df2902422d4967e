/**
 * deploy/crds.yaml against the schemas it is generated from: the committed file (and the Helm
 * chart's copy) equals a fresh render; every version schema passes the structural checker; the
 * checker and the converter each catch what they claim to; and the CRD is never stricter than
 * Legate: every Mapping/Module spec Legate's own validator accepts (fixtures, plus random
 * perturbations of them) is accepted by a small validator for the emitted schema subset.
 * The real API server accepts the same file in test/k8s/manifests.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Type as T, type TSchema } from '@sinclair/typebox';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import {
  buildCrds,
  type KubeSchema,
  kCrdPaths,
  kCrdVersions,
  renderCrds,
  structuralProblems,
  toStructural,
} from '../../scripts/gen-crds.js';
import { kAmbassadorSchemas } from '../../src/resources/schemas/index.js';
import { checkerFor } from '../../src/resources/schemas/validate.js';

const root = join(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function specSchema(crd: Json, version: string): KubeSchema {
  const versions = (crd['spec'] as Json)['versions'] as Json[];
  const v = versions.find((x) => x['name'] === version)!;
  const openapi = ((v['schema'] as Json)['openAPIV3Schema'] as Json)['properties'] as Json;
  return openapi['spec'] as KubeSchema;
}

const kCrds = buildCrds();

function crdFor(kind: string): Json {
  const crd = kCrds.find((c) => ((c['spec'] as Json)['names'] as Json)['kind'] === kind);
  assert.ok(crd, `no CRD for ${kind}`);
  return crd;
}

/**
 * What the API server does with a value for the subset of OpenAPI the generator emits: prune
 * unknown fields, then validate. Returns the problems (empty = accepted) and the pruned value.
 */
function admit(schema: KubeSchema, value: unknown, path = 'spec'): { problems: string[]; pruned: unknown } {
  const problems: string[] = [];
  const go = (s: KubeSchema, v: unknown, p: string): unknown => {
    if (s['x-kubernetes-int-or-string'] === true) {
      if (typeof v !== 'string' && !Number.isInteger(v)) problems.push(`${p}: not int-or-string`);
      return v;
    }
    const type = s['type'];
    if (type === undefined) return v; // preserve-unknown-fields, untyped: anything goes
    const actual = Array.isArray(v)
      ? 'array'
      : v === null
        ? 'null'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'integer'
            : 'number'
          : typeof v;
    if (actual !== type && !(type === 'number' && actual === 'integer')) {
      problems.push(`${p}: ${actual} is not ${String(type)}`);
      return v;
    }
    if (Array.isArray(s['enum']) && !s['enum'].includes(v)) problems.push(`${p}: not in enum`);
    if (typeof s['minimum'] === 'number' && (v as number) < s['minimum']) problems.push(`${p}: < minimum`);
    if (typeof s['maximum'] === 'number' && (v as number) > s['maximum']) problems.push(`${p}: > maximum`);
    if (typeof s['minLength'] === 'number' && (v as string).length < s['minLength']) {
      problems.push(`${p}: shorter than minLength`);
    }
    if (type === 'array')
      return (v as unknown[]).map((x, i) => go(s['items'] as KubeSchema, x, `${p}[${i}]`));
    if (type !== 'object') return v;
    const obj = v as Json;
    const out: Json = {};
    const props = s['properties'] as Json | undefined;
    const extra = s['additionalProperties'] as KubeSchema | undefined;
    for (const [k, x] of Object.entries(obj)) {
      if (props && isObj(props[k])) out[k] = go(props[k] as KubeSchema, x, `${p}.${k}`);
      else if (extra) out[k] = go(extra, x, `${p}.${k}`);
      else if (s['x-kubernetes-preserve-unknown-fields'] === true) out[k] = x;
      // else: pruned
    }
    for (const r of (s['required'] as string[] | undefined) ?? []) {
      if (!(r in obj)) problems.push(`${p}.${r}: required`);
    }
    return out;
  };
  const pruned = go(schema, value, path);
  return { problems, pruned };
}

test('deploy/crds.yaml and the Helm copy are what the schemas generate (run npm run gen:crds)', () => {
  const fresh = renderCrds();
  for (const rel of kCrdPaths) {
    assert.equal(readFileSync(join(root, rel), 'utf8'), fresh, `${rel} is stale`);
  }
});

test('the file parses as YAML 1.1 into the CRDs buildCrds returns', () => {
  const docs = parseAllDocuments(readFileSync(join(root, kCrdPaths[0]), 'utf8'), { version: '1.1' });
  assert.deepEqual(
    docs.map((d) => d.toJS()),
    JSON.parse(JSON.stringify(buildCrds())),
  );
});

test('one CRD per served kind, v3alpha1 storage, v2 served and deprecated, status subresource', () => {
  const crds = buildCrds();
  assert.deepEqual(
    crds.map((c) => (c['metadata'] as Json)['name']),
    Object.keys(kAmbassadorSchemas).map((k) => `${k.toLowerCase()}s.getambassador.io`),
  );
  for (const crd of crds) {
    const spec = crd['spec'] as Json;
    assert.equal(spec['scope'], 'Namespaced');
    assert.deepEqual((spec['names'] as Json)['categories'], ['ambassador-crds']);
    assert.deepEqual(spec['conversion'], { strategy: 'None' });
    const versions = spec['versions'] as Json[];
    assert.deepEqual(
      versions.map((v) => [v['name'], v['served'], v['storage'], v['deprecated'] ?? false]),
      [
        ['v3alpha1', true, true, false],
        ['v2', true, false, true],
      ],
    );
    for (const v of versions) assert.deepEqual(v['subresources'], { status: {} });
  }
  const cols = (crdFor('Mapping')['spec'] as Json)['versions'] as Json[];
  assert.deepEqual(
    (cols[0]!['additionalPrinterColumns'] as Json[]).map((c) => c['name']),
    ['Hostname', 'Prefix', 'Service', 'State', 'Reason', 'Age'],
  );
});

test('every version schema is structural', () => {
  for (const crd of buildCrds()) {
    for (const v of (crd['spec'] as Json)['versions'] as Json[]) {
      const schema = (v['schema'] as Json)['openAPIV3Schema'];
      assert.deepEqual(structuralProblems(schema), [], `${(crd['metadata'] as Json)['name']} ${v['name']}`);
    }
  }
});

test('every field of every schema appears in the CRD (nothing dropped on the way)', () => {
  const walk = (tb: unknown, kube: KubeSchema, path: string): number => {
    if (!isObj(tb)) return 0;
    let n = 0;
    if (isObj(tb['properties'])) {
      const kp = kube['properties'] as Json | undefined;
      assert.ok(kp, `${path}: properties lost`);
      for (const [k, sub] of Object.entries(tb['properties'])) {
        assert.ok(isObj(kp[k]), `${path}.${k} missing from the CRD`);
        n += 1 + walk(sub, kp[k] as KubeSchema, `${path}.${k}`);
      }
    }
    if (tb['type'] === 'array' && kube['type'] === 'array') {
      n += walk(tb['items'], kube['items'] as KubeSchema, `${path}[]`);
    }
    if (isObj(tb['patternProperties']) && isObj(kube['additionalProperties'])) {
      n += walk(Object.values(tb['patternProperties'])[0], kube['additionalProperties'], `${path}.*`);
    }
    return n;
  };
  for (const [kind, versions] of Object.entries(kAmbassadorSchemas)) {
    for (const version of kCrdVersions) {
      const count = walk(versions[version], specSchema(crdFor(kind), version), `${kind}.${version}`);
      assert.ok(count >= 2, `${kind}.${version}: only ${count} fields compared`);
    }
  }
});

test('toStructural: each TypeBox construct becomes its structural form', () => {
  assert.deepEqual(toStructural(T.Record(T.String(), T.Integer())), {
    type: 'object',
    additionalProperties: { type: 'integer' },
  });
  assert.deepEqual(toStructural(T.Union([T.Literal('a'), T.Literal('b')], { description: 'd' })), {
    description: 'd',
    type: 'string',
    enum: ['a', 'b'],
  });
  assert.deepEqual(toStructural(T.Union([T.Literal(1), T.Literal(2)])), { type: 'integer', enum: [1, 2] });
  assert.deepEqual(toStructural(T.Union([T.Integer(), T.String()])), { 'x-kubernetes-int-or-string': true });
  assert.deepEqual(toStructural(T.Unknown()), { 'x-kubernetes-preserve-unknown-fields': true });
  const loose = toStructural(T.Union([T.String(), T.Array(T.String())]));
  assert.equal(loose['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(loose['type'], undefined);
  assert.match(String(loose['description']), /string or list of string/);
  // Closed objects are pruned by the API server; open ones keep unknown fields.
  assert.deepEqual(toStructural(T.Object({ a: T.String() }, { additionalProperties: false, $id: 'X' })), {
    type: 'object',
    properties: { a: { type: 'string' } },
    required: ['a'],
  });
  assert.deepEqual(toStructural(T.Object({ a: T.Optional(T.Boolean()) }, { additionalProperties: true })), {
    type: 'object',
    properties: { a: { type: 'boolean' } },
    'x-kubernetes-preserve-unknown-fields': true,
  });
});

test('toStructural refuses what it cannot express', () => {
  const bad: Array<[string, TSchema]> = [
    ['exclusiveMinimum', T.Integer({ exclusiveMinimum: 0 })],
    ['uniqueItems', T.Array(T.String(), { uniqueItems: true })],
    ['patternProperties', T.Record(T.String({ pattern: '^x-' }), T.String())],
    ['$ref', T.Object({ a: T.Ref('Other') })],
    ['non-scalar const', T.Literal(null as unknown as string)],
  ];
  for (const [what, schema] of bad) {
    assert.throws(() => toStructural(schema), /gen-crds:/, what);
  }
});

test('structuralProblems catches each rule it checks', () => {
  const cases: Array<[KubeSchema, RegExp]> = [
    [{ properties: { a: { type: 'string' } } }, /no type/],
    [{ type: 'object', properties: { a: {} } }, /\$\.a: no type/],
    [{ type: ['string', 'null'] }, /not a single OpenAPI type/],
    [
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
      /mutually exclusive/,
    ],
    [{ type: 'object', additionalProperties: false }, /must be a schema/],
    [{ type: 'array' }, /without an items schema/],
    [{ anyOf: [{ type: 'string' }], type: 'string' }, /"anyOf" is not allowed/],
    [{ type: 'string', $id: 'x' }, /"\$id" is not allowed/],
    [{ type: 'string', 'x-kubernetes-preserve-unknown-fields': false }, /must be true or absent/],
    [{ type: 'string', enum: [1] }, /not of type string/],
    [{ type: 'object', properties: {}, required: ['a'] }, /"a" is not a property/],
    [
      {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['k'],
        items: { type: 'object', properties: { k: { type: 'string' } } },
      },
      /key "k" is not required/,
    ],
    [{ type: 'string', 'x-kubernetes-int-or-string': true }, /int-or-string with a type/],
  ];
  for (const [schema, re] of cases) {
    const problems = structuralProblems(schema);
    assert.ok(
      problems.some((p) => re.test(p)),
      `${JSON.stringify(schema)}: ${JSON.stringify(problems)}`,
    );
  }
  assert.deepEqual(structuralProblems({ 'x-kubernetes-preserve-unknown-fields': true }), []);
});

/** Spec of every getambassador.io Mapping/Module in the golden fixtures, with its version. */
function fixtureSpecs(): Array<{ kind: string; version: string; spec: unknown; where: string }> {
  const dir = join(root, 'test', 'fixtures');
  const out: Array<{ kind: string; version: string; spec: unknown; where: string }> = [];
  for (const name of readdirSync(dir)) {
    let text: string;
    try {
      text = readFileSync(join(dir, name, 'input.yaml'), 'utf8');
    } catch {
      continue;
    }
    for (const doc of parseAllDocuments(text, { version: '1.1' })) {
      const obj = doc.toJS() as unknown;
      if (!isObj(obj) || typeof obj['apiVersion'] !== 'string') continue;
      const [group, version] = obj['apiVersion'].split('/');
      const kind = String(obj['kind']);
      if (group !== 'getambassador.io' || !(kind in kAmbassadorSchemas)) continue;
      if (!(kCrdVersions as readonly string[]).includes(version!) || !('spec' in obj)) continue;
      out.push({ kind, version: version!, spec: obj['spec'], where: `${name}/${String(kind)}` });
    }
  }
  return out;
}

test('the CRD accepts every fixture spec Legate accepts, and prunes nothing from v3alpha1 ones', () => {
  const specs = fixtureSpecs();
  let accepted = 0;
  for (const { kind, version, spec, where } of specs) {
    if (!checkerFor(kAmbassadorSchemas[kind]![version]!).Check(spec)) continue;
    accepted++;
    const { problems, pruned } = admit(specSchema(crdFor(kind), version), spec);
    assert.deepEqual(problems, [], `${where} ${version}`);
    if (version === 'v3alpha1') assert.deepEqual(pruned, spec, `${where}: fields pruned`);
  }
  assert.ok(accepted >= 20, `only ${accepted} fixture specs accepted by Legate`);
});

test('property: a perturbed spec Legate accepts is accepted by the CRD too', () => {
  const bases = fixtureSpecs().filter(
    (s) => s.kind === 'Mapping' && checkerFor(kAmbassadorSchemas['Mapping']![s.version]!).Check(s.spec),
  );
  assert.ok(bases.length > 0);
  const fieldNames = [
    ...new Set(
      kCrdVersions.flatMap((v) =>
        Object.keys((kAmbassadorSchemas['Mapping']![v] as unknown as { properties: Json }).properties),
      ),
    ),
  ];
  const value = fc.oneof(
    fc.string(),
    fc.boolean(),
    fc.integer({ min: -5, max: 500 }),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('x-a', 'b', 'value', 'append'), fc.oneof(fc.string(), fc.boolean())),
    fc.constantFrom(301, 302, 'round_robin', '5xx', ['default'], { value: 'v' }, { policy: 'maglev' }),
  );
  let legateAccepted = 0;
  fc.assert(
    fc.property(fc.nat(bases.length - 1), fc.constantFrom(...fieldNames), value, (i, field, v) => {
      const base = bases[i]!;
      const spec = { ...(base.spec as Json), [field]: v };
      if (!checkerFor(kAmbassadorSchemas['Mapping']![base.version]!).Check(spec)) return;
      legateAccepted++;
      const { problems } = admit(specSchema(crdFor('Mapping'), base.version), spec);
      assert.deepEqual(problems, [], `${base.where} ${base.version} ${field}=${JSON.stringify(v)}`);
    }),
    { numRuns: 2000 },
  );
  assert.ok(legateAccepted > 100, `only ${legateAccepted} perturbations were valid for Legate`);
});

test('the v2 string-or-list forms reach Legate unpruned', () => {
  const schema = specSchema(crdFor('Mapping'), 'v2');
  const spec = {
    prefix: '/',
    service: 'a',
    ambassador_id: 'blue',
    tls: true,
    headers: { 'x-a': true },
    remove_request_headers: 'x-b',
    add_request_headers: { 'x-c': 'bare' },
    cors: { origins: 'https://a,https://b' },
  };
  const { problems, pruned } = admit(schema, spec);
  assert.deepEqual(problems, []);
  assert.deepEqual(pruned, spec);
  assert.equal(checkerFor(kAmbassadorSchemas['Mapping']!['v2']!).Check(spec), true);
});
