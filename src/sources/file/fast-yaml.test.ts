import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import jsyaml from 'js-yaml';
import { parseYamlStream } from '../../resources/yaml.js';
import { loadFast } from './fast-yaml.js';
import { mutatedStream, quotedStream, yamlStream } from './yaml-test-support.js';

/**
 * Property runs: modest by default so CI stays fast; `LEGATE_FC_RUNS=20000` (and several runs of
 * the suite) for a deep local search. Seeds stay random unless `LEGATE_FC_SEED` pins one to replay
 * a failure; fast-check prints the seed and path of every counterexample.
 */
const kRunScale = Number(process.env['LEGATE_FC_RUNS']) || 0;
const fcParams = (fallback: number): fc.Parameters<unknown> => {
  const seed = Number(process.env['LEGATE_FC_SEED']);
  return {
    numRuns: kRunScale || fallback,
    ...(Number.isInteger(seed) && process.env['LEGATE_FC_SEED'] ? { seed } : {}),
  };
};

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
    fcParams(2000),
  );
  // Declining everything would pass the property vacuously.
  assert.ok(accepted > runs / 5, `fast loader accepted only ${accepted} of ${runs} streams`);
});

/** The equivalence property for streams that are often invalid: decline, or agree exactly. */
const declinesOrAgrees = (text: string): void => {
  const fast = loadFast(text);
  if (fast === undefined) return;
  const ref = reference(text);
  assert.ok(
    ref !== undefined,
    `fast loader accepted text the reference parser rejects:\n${JSON.stringify(text)}`,
  );
  assert.deepStrictEqual(withContent(fast), withContent(ref), JSON.stringify(text));
};

test('fast loader never accepts what the reference parser rejects, nor differs on what it accepts (mutated YAML)', () => {
  fc.assert(fc.property(mutatedStream, declinesOrAgrees), fcParams(3000));
});

test('fast loader = reference parser or declines on quoted scalars (multi-line, escapes, glued comments)', () => {
  let accepted = 0;
  let total = 0;
  fc.assert(
    fc.property(quotedStream, (text) => {
      total++;
      if (loadFast(text) !== undefined) accepted++;
      declinesOrAgrees(text);
    }),
    fcParams(2000),
  );
  assert.ok(accepted > total / 10, `fast loader accepted only ${accepted} of ${total} streams`);
});

/**
 * Counterexamples found by the property tests. js-yaml reads each one; the reference parser
 * rejects it (`ref: 'rejects'`) or reads other values (`ref` lists the values of its documents
 * with content), so the fast loader must decline. Both premises are checked, so a case that stops
 * being a divergence (a library update) shows up instead of passing silently.
 */
const kMustDecline: readonly {
  readonly why: string;
  readonly text: string;
  readonly ref: 'rejects' | unknown[];
}[] = [
  { why: 'comment glued to the closing quote of a multi-line scalar', text: '"\n\n"#"', ref: 'rejects' },
  { why: 'same, at the end of the text', text: '"\n\n"#', ref: 'rejects' },
  {
    why: 'comment glued to a single quote inside a quoted value',
    text: '---\na:\n  a: \'"\'#a"\n---\n\n',
    ref: 'rejects',
  },
  { why: 'escaped line break inside the double-quoted scalar', text: 'a: "x\\\n y"#\n', ref: 'rejects' },
  { why: 'multi-line double-quoted value, nested', text: 'k:\n  v: "x\n    y"#c\n', ref: 'rejects' },
  { why: 'multi-line single-quoted value', text: "k: 'x\n  y'#c\n", ref: 'rejects' },
  { why: "escaped '' in a multi-line single-quoted value", text: "k: 'it''s\n  fine'#c\n", ref: 'rejects' },
  { why: 'escaped quote in a multi-line double-quoted value', text: 'k: "a\\"b\n  c"#c\n', ref: 'rejects' },
  { why: 'comment glued to a quoted sequence item', text: '- "x"#c\n', ref: 'rejects' },
  { why: 'comment glued to a quoted key', text: '"k"#c: v\n', ref: 'rejects' },
  { why: 'comment glued to a flow sequence end', text: 'k: [a]#c\n', ref: 'rejects' },
  { why: 'comment glued to a flow mapping end', text: 'k: {a: 1}#c\n', ref: 'rejects' },
  { why: 'escaped line break, then a blank line (flow map)', text: '{k: "\\\n\n"}\n', ref: [{ k: ' ' }] },
  { why: 'escaped line break, then a blank line (flow seq)', text: '["a\\\n\n b"]\n', ref: [['a b']] },
  {
    why: 'flow mapping as a key, first in a flow mapping',
    text: 'a: {{a b: n}}\n',
    ref: [{ a: { '{ a b: n }': null } }],
  },
  {
    why: 'flow mapping as a later key in a flow mapping',
    text: 'a: {x: 1, {a b: n}}\n',
    ref: [{ a: { x: 1, '{ a b: n }': null } }],
  },
  {
    why: 'flow sequence as a key after a comma',
    text: 'a: {x: 1, [p, q]}\n',
    ref: [{ a: { x: 1, '[ p, q ]': null } }],
  },
  {
    why: 'null key of a single-pair mapping in a flow sequence',
    text: 'a: [[~:, x]]\n',
    ref: [{ a: [[{ '': null }, 'x']] }],
  },
  { why: 'NULL key of a single-pair mapping, alone', text: 'a: [[NULL:]]\n', ref: [{ a: [[{ '': null }]] }] },
  {
    why: '%YAML 1.2 switches the reference parser to the 1.2 schema',
    text: '%YAML 1.2\n---\na: yes\n',
    ref: [{ a: 'yes' }],
  },
  {
    why: 'a directive before a later document',
    text: 'a: 1\n...\n%YAML 1.2\n---\nb: yes\n',
    ref: [{ a: 1 }, { b: 'yes' }],
  },
];

test('declines every recorded counterexample', async (t) => {
  for (const { why, text, ref } of kMustDecline) {
    await t.test(why, () => {
      assert.doesNotThrow(() => jsyaml.loadAll(text), 'js-yaml must read it, or it is no counterexample');
      const actual = reference(text);
      assert.deepStrictEqual(
        actual && withContent(actual).map((d) => d.value),
        ref === 'rejects' ? undefined : ref,
      );
      assert.equal(loadFast(text), undefined, JSON.stringify(text));
    });
  }
});

test('still reads quoted scalars holding # and quotes, and comments after white space', () => {
  const cases: readonly (readonly [string, unknown])[] = [
    ['d: "#x"\n', { d: '#x' }],
    ["c: '#fff'\n", { c: '#fff' }],
    ['a: "x y"\nb: "#fff"\n', { a: 'x y', b: '#fff' }],
    ['a: "x"\n# c\nb: "#y" # z\n', { a: 'x', b: '#y' }],
    ['a: "x\n  y" # c\n', { a: 'x y' }],
    ["a: 'it''s' #c\nb: '#'\n", { a: "it's", b: '#' }],
    ['a: "x"\t#c\n', { a: 'x' }],
    ['a: [b#c, "d"]\n', { a: ['b#c', 'd'] }],
  ];
  for (const [text, value] of cases) {
    const docs = loadFast(text);
    assert.ok(docs !== undefined, `declined ${JSON.stringify(text)}`);
    assert.deepEqual(docs[0]?.value, value, JSON.stringify(text));
    assert.deepEqual(reference(text)?.[0]?.value, value, JSON.stringify(text));
  }
});

test('a long unclosed quote neither throws nor takes long (the decline scan is linear)', () => {
  for (const text of [`a: '${'x: y\n'.repeat(300_000)}`, `a: "${'x\\\n'.repeat(300_000)}`]) {
    const started = performance.now();
    assert.doesNotThrow(() => loadFast(text));
    assert.ok(performance.now() - started < 5000);
  }
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
