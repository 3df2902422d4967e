import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildResourceSet, formatProblems } from '../../resources/build.js';
import type { ResourceLocation } from '../../resources/key.js';
import { attachFieldLines, objectLines, snapshotTexts } from './field-lines.js';
import { parseConfigText } from './parse.js';
import { yamlStream } from './yaml-test-support.js';

const withoutLines = ({ fieldLines: _f, textLines: _t, ...rest }: ResourceLocation) => rest;

/** Lazy parse + on-demand lines must reproduce the eager parse exactly. */
function checkEquivalent(text: string, file = 'x.yaml'): void {
  const eager = parseConfigText(text, file, 'file');
  const lazy = parseConfigText(text, file, 'file', { fieldLines: 'lazy' });
  assert.equal(lazy.ok, eager.ok, text);
  assert.deepStrictEqual(lazy.problems, eager.problems, text);
  assert.equal(lazy.objects.length, eager.objects.length, text);
  for (let i = 0; i < eager.objects.length; i++) {
    const e = eager.objects[i];
    const l = lazy.objects[i];
    assert.deepStrictEqual(l.object, e.object, text);
    assert.deepStrictEqual(withoutLines(l.location), withoutLines(e.location), text);
    if (l.location.fieldLines) {
      assert.deepStrictEqual(l.location, e.location, text);
      continue;
    }
    const found = objectLines(text, l.location);
    assert.ok(found, `no lines for object ${i}:\n${text}`);
    assert.deepStrictEqual(found.fieldLines, e.location.fieldLines, text);
    assert.deepStrictEqual(found.textLines, e.location.textLines, text);
  }
}

test('lazy parse + on-demand field lines = eager parse, on generated YAML', () => {
  fc.assert(
    fc.property(yamlStream, (text) => checkEquivalent(text)),
    { numRuns: 1500 },
  );
});

test('List items, annotated Services, JSON, flow roots and indented documents', () => {
  checkEquivalent(
    'apiVersion: v1\nkind: List\nitems:\n- kind: A\n  x: 1\n- kind: B\n  y: 2\n---\nkind: C\nz: 3\n',
  );
  checkEquivalent(
    '# c\nkind: A\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    getambassador.io/config: |\n      ---\n      kind: Mapping\n      name: m\nspec: {}\n---\nkind: B\n',
  );
  checkEquivalent('\n\n{\n  "kind": "Mapping",\n  "spec": {"prefix": "/", "headers": ["a"]}\n}\n', 'e.json');
  checkEquivalent('{"kind": "List", "items": [{"kind": "A"},\n {"kind": "B",\n "x": 1}]}', 'l.json');
  checkEquivalent('--- {kind: A,\n  x: 1}\n---\n  kind: B\n  y:\n    - 1\n...\n---\nkind: C\n');
  // Directives before a document make the slice fall back to the whole file.
  checkEquivalent('%YAML 1.1\n---\nkind: A\nx: 1\n');
});

test('a .json file that is not JSON is read as YAML', () => {
  const r = parseConfigText('kind: A\nx: 1\n', 'a.json', 'file', { fieldLines: 'lazy' });
  assert.deepEqual(r.objects[0]?.object, { kind: 'A', x: 1 });
});

const kCfg = `# header
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: good
spec: {prefix: /a/, service: a, hostname: "*"}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: bad

spec:
  prefix: /b/
  service: b
  prefx: /c/
---
apiVersion: ambassador/v1
kind: Mapping
name: flat
prefix: /f/
service: f
weight: 500
---
apiVersion: v1
kind: Service
metadata:
  name: tour
  annotations:
    getambassador.io/config: |
      apiVersion: getambassador.io/v3alpha1
      kind: Mapping
      name: inner
      prefix: /i/
      service: i
      timeout_ms: nope
spec:
  ports: [{port: 80}]
`;

test('attachFieldLines: validate output is the same as with eager lines (flat layout and annotations too)', () => {
  const eager = parseConfigText(kCfg, 'cfg.yaml', 'file');
  const lazy = parseConfigText(kCfg, 'cfg.yaml', 'file', { fieldLines: 'lazy' });
  const want = formatProblems(
    buildResourceSet([{ source: 'file', ...eager }], { ambassadorId: 'default' }).statuses,
  );
  const built = buildResourceSet([{ source: 'file', ...lazy }], { ambassadorId: 'default' }).statuses;
  assert.equal(want.length, 3);
  assert.notDeepEqual(
    formatProblems(built),
    want,
    'without lines the output must differ, or this test proves nothing',
  );
  const textOf = snapshotTexts([{ source: 'file', objects: [], problems: [], texts: { 'cfg.yaml': kCfg } }]);
  const attached = attachFieldLines(built, textOf);
  assert.deepEqual(formatProblems(attached), want);
  assert.deepEqual(want, [
    'cfg.yaml:16 Mapping/default/bad spec.prefx: unknown field "prefx" (did you mean "prefix"?)',
    'cfg.yaml:23 Mapping/default/flat spec.weight: must be an integer between 0 and 100 (got 500)',
    'cfg.yaml:36 Mapping/default/inner spec.timeout_ms: must be a non-negative integer (got "nope")',
  ]);
  // Untouched statuses are the same objects; no problems → the same array.
  assert.equal(attached[0], built[0]);
  const ok = built.filter((s) => s.state === 'Accepted');
  assert.equal(attachFieldLines(ok, textOf), ok);
});

test('attachFieldLines uses the text the objects came from, and skips files it has no text for', () => {
  const lazy = parseConfigText(kCfg, 'cfg.yaml', 'file', { fieldLines: 'lazy' });
  const built = buildResourceSet([{ source: 'file', ...lazy }], { ambassadorId: 'default' }).statuses;
  assert.equal(
    attachFieldLines(built, () => undefined),
    built,
  );
  // Another source's texts are not used for this source's objects.
  const other = snapshotTexts([{ source: 'other', objects: [], problems: [], texts: { 'cfg.yaml': kCfg } }]);
  assert.equal(attachFieldLines(built, other), built);
});
