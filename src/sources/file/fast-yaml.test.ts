import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseYamlStream } from '../../resources/yaml.js';
import { loadFast } from './fast-yaml.js';
import { mutatedStream, yamlStream } from './yaml-test-support.js';

/** What the reference parser says, in `loadFast`'s shape; `undefined` when any document has an error. */
function reference(text: string) {
  const stream = parseYamlStream(text);
  if (stream.documents.some((d) => d.error)) return undefined;
  return stream.documents.map((d) => ({ index: d.index, line: d.line, value: d.value }));
}

/** Documents with content only: the two parsers may disagree on trailing empty documents. */
const withContent = <T extends { value: unknown }>(docs: readonly T[]) =>
  docs.filter((d) => d.value !== null);

test('fast loader = reference parser on generated YAML (values, document indexes, start lines)', () => {
  let accepted = 0;
  let runs = 0;
  fc.assert(
    fc.property(yamlStream, (text) => {
      runs++;
      const fast = loadFast(text);
      if (fast === undefined) return;
      accepted++;
      const ref = reference(text);
      assert.ok(ref !== undefined, `fast loader accepted text the reference parser rejects:\n${text}`);
      assert.deepStrictEqual(withContent(fast), withContent(ref), text);
    }),
    { numRuns: 2000 },
  );
  // Declining everything would pass the property vacuously.
  assert.ok(accepted > runs / 5, `fast loader accepted only ${accepted} of ${runs} streams`);
});

test('fast loader never accepts what the reference parser rejects, nor differs on what it accepts (mutated YAML)', () => {
  fc.assert(
    fc.property(mutatedStream, (text) => {
      const fast = loadFast(text);
      if (fast === undefined) return;
      const ref = reference(text);
      assert.ok(
        ref !== undefined,
        `fast loader accepted text the reference parser rejects:\n${JSON.stringify(text)}`,
      );
      assert.deepStrictEqual(withContent(fast), withContent(ref), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});

test('dialect: YAML 1.1 booleans without y/n, 1.1 octal and underscores, no timestamps or base-60', () => {
  const docs = loadFast('a: yes\nb: OFF\ny: n\nc: 2024-01-01\nd: 1:30\ne: "yes"\nf: 0777\ng: 1_000\nh: On\n');
  assert.deepEqual(docs?.[0]?.value, {
    a: true,
    b: false,
    y: 'n',
    c: '2024-01-01',
    d: '1:30',
    e: 'yes',
    f: 511,
    g: 1000,
    h: true,
  });
});

test('document lines skip leading comments and separators; --- inside a block scalar is content', () => {
  const docs = loadFast('# c\n\na: 1\n---\n# d\nb: |\n  ---x\n  y\n--- # e\n\nc: 2\n');
  assert.deepEqual(
    docs?.map((d) => [d.index, d.line]),
    [
      [0, 3],
      [1, 6],
      [2, 11],
    ],
  );
  assert.deepEqual(docs?.[1]?.value, { b: '---x\ny\n' });
});

test('declines what it cannot reproduce exactly: anchors, tags, merge keys, null keys, errors, lone CR', () => {
  for (const text of [
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    'a: !custom 1\n',
    '<<: {a: 1}\n',
    'null: 1\n',
    '~: 1\n',
    'a: 1\na: 2\n',
    'a: [1\n',
    'a: 1\rb: 2\n',
    '{: 1}\n',
    '[{a: 1}]: x\n',
    '\tkey: 1\n',
    '{a: 1}#c\n',
    '---x\n',
    // js-yaml reads these as [[null, "x"]], the yaml library as [[null], "x"].
    'a:\n  -\n    - #no\n  - x\n',
    '- - #c\n- x\n',
    '-\n  -\n- x\n',
    '-\r\n  -\r\n- x\r\n',
  ]) {
    assert.equal(loadFast(text), undefined, JSON.stringify(text));
  }
  assert.deepEqual(loadFast('b: null\nc: ~\nd: "#x"\n')?.[0]?.value, { b: null, c: null, d: '#x' });
});
