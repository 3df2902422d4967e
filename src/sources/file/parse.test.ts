import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from './parse.js';

test('multi-document YAML: one object per non-empty mapping document, with lines', () => {
  const text = [
    '# leading comment',
    'apiVersion: v1', // 2
    'kind: Service',
    'metadata:',
    '  name: a', // 5
    '---',
    '---', // empty document is skipped but still counts for docIndex
    'kind: Mapping', // 8
    'spec:',
    '  headers:',
    '    - x', // 11
    '',
  ].join('\n');
  const r = parseConfigText(text, 'dir/a.yaml', 'file');
  assert.equal(r.ok, true);
  assert.deepEqual(r.problems, []);
  assert.equal(r.objects.length, 2);
  const [a, b] = r.objects;
  assert.deepEqual(a.location, {
    source: 'file',
    file: 'dir/a.yaml',
    line: 2,
    docIndex: 0,
    fieldLines: { '/apiVersion': 2, '/kind': 3, '/metadata': 4, '/metadata/name': 5 },
  });
  assert.equal(b.location.line, 8);
  assert.equal(b.location.docIndex, 2);
  assert.equal(b.location.fieldLines?.['/spec/headers/0'], 11);
});

test('a syntax error fails the whole file with the error line', () => {
  const r = parseConfigText('kind: A\n---\nkind: B\nspec: [1\nx: 2\n', 'b.yaml', 'file');
  assert.equal(r.ok, false);
  assert.deepEqual(r.objects, []);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].location.file, 'b.yaml');
  assert.equal(r.problems[0].location.docIndex, 1);
  assert.ok((r.problems[0].location.line ?? 0) >= 4, `line ${r.problems[0].location.line}`);
  assert.match(r.problems[0].message, /YAML error in document 1/);
});

test('duplicate keys are a syntax error', () => {
  const r = parseConfigText('kind: A\nkind: B\n', 'c.yaml', 'file');
  assert.equal(r.ok, false);
});

test('a document that is not a mapping is a problem; the other documents are used', () => {
  const r = parseConfigText('- 1\n- 2\n---\nkind: A\n', 'd.yaml', 'file');
  assert.equal(r.ok, true);
  assert.equal(r.objects.length, 1);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].location.line, 1);
  assert.match(r.problems[0].message, /not a mapping/);
});

test('JSON files parse with lines', () => {
  const r = parseConfigText('{\n  "kind": "Mapping",\n  "spec": {"prefix": "/"}\n}\n', 'e.json', 'file');
  assert.equal(r.ok, true);
  assert.deepEqual(r.objects[0].object, { kind: 'Mapping', spec: { prefix: '/' } });
  assert.equal(r.objects[0].location.fieldLines?.['/spec'], 3);
});

test('kind: List documents become one object per item, each with its own lines', () => {
  const text = 'apiVersion: v1\nkind: List\nitems:\n- kind: A\n  x: 1\n- kind: B\n  y: 2\n';
  const r = parseConfigText(text, 'f.yaml', 'file');
  assert.deepEqual(
    r.objects.map((o) => o.object),
    [
      { kind: 'A', x: 1 },
      { kind: 'B', y: 2 },
    ],
  );
  assert.equal(r.objects[1].location.line, 6);
  assert.deepEqual(r.objects[1].location.fieldLines, { '/kind': 6, '/y': 7 });
});

test('YAML 1.1 booleans as Kubernetes reads them; no timestamps or base-60 numbers', () => {
  const r = parseConfigText('a: yes\nb: off\ny: n\nc: 2024-01-01\nd: 1:30\ne: "yes"\n', 'g.yaml', 'file');
  assert.deepEqual(r.objects[0].object, { a: true, b: false, y: 'n', c: '2024-01-01', d: '1:30', e: 'yes' });
});

test('literal block scalars record the line of their first content line', () => {
  const text = 'metadata:\n  annotations:\n    getambassador.io/config: |\n      kind: Mapping\n';
  const r = parseConfigText(text, 'h.yaml', 'file');
  assert.deepEqual(r.objects[0].location.textLines, { '/metadata/annotations/getambassador.io~1config': 4 });
  assert.equal(r.objects[0].location.fieldLines?.['/metadata/annotations/getambassador.io~1config'], 3);
});
