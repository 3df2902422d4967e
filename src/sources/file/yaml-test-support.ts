/**
 * fast-check generator of YAML streams for the parser equivalence tests (`fast-yaml.test.ts`,
 * `field-lines.test.ts`). Produces text in many styles — block and flow collections, plain scalars
 * that hit every YAML 1.1 resolution rule, quoted and block scalars (with `---` inside them),
 * comments, blank lines, explicit and implicit document starts, `...` ends, occasional anchors,
 * aliases, tags and merge keys. The text is not always valid YAML; the tests compare two parsers
 * on it, so no expected values are computed here.
 */
import fc from 'fast-check';

/** Plain scalars chosen to hit every implicit-resolution rule of the dialect and its neighbours. */
export const kTrickyPlain = [
  'yes',
  'Yes',
  'YES',
  'no',
  'No',
  'on',
  'On',
  'OFF',
  'off',
  'y',
  'Y',
  'n',
  'N',
  'true',
  'False',
  'TRUE',
  'tRUE',
  'null',
  'Null',
  'NULL',
  '~',
  '0777',
  '0o17',
  '0x1F',
  '0b101',
  '1_000',
  '-12',
  '+12',
  '-0',
  '007',
  '1:30',
  '190:20:30',
  '1:30.5',
  '2024-01-01',
  '2024-01-01T10:00:00Z',
  '.5',
  '1.',
  '1e3',
  '1.5E+3',
  '12e3',
  '-.inf',
  '.Inf',
  '.NaN',
  '.nan',
  '1.0',
  '3.14_15',
  'abc',
  'a b',
  'x-y',
  '/svc/',
  'http://a.b:80/x',
  'a#b',
  'foo bar baz',
  '=',
  '0',
  '1',
  '999999999999999999',
] as const;

const kKeys = [
  'a',
  'b',
  'kind',
  'spec',
  'name',
  'y',
  'n',
  'on',
  '1',
  '0777',
  'a b',
  '__proto__',
  '"x:y"',
  "'q k'",
  '"yes"',
  'toString',
] as const;
/** Keys the fast loader declines (null keys, merge keys); drawn rarely so most streams are read. */
const kRareKeys = ['~', 'null', '<<'] as const;
const key = fc.oneof(
  { weight: 15, arbitrary: fc.constantFrom(...kKeys) },
  { weight: 1, arbitrary: fc.constantFrom(...kRareKeys) },
);

type Node =
  | { readonly t: 'plain'; readonly s: string }
  | { readonly t: 'sq' | 'dq'; readonly s: string }
  | { readonly t: 'block'; readonly header: string; readonly lines: readonly string[] }
  | { readonly t: 'map'; readonly flow: boolean; readonly entries: readonly (readonly [string, Node])[] }
  | { readonly t: 'seq'; readonly flow: boolean; readonly items: readonly Node[] }
  | { readonly t: 'alias' };

const text = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', ':', '#', "'", '"', '\\', '-', '\n', 'é', '\t'),
  maxLength: 12,
});
const blockLine = fc.oneof(
  fc.constantFrom('line', 'two words', '---', '--- x', '  indented', '', '# not a comment', 'a: b', '...x'),
  fc.string({ unit: fc.constantFrom('a', ' ', ':', '-'), maxLength: 8 }).map((s) => `w${s}`),
);

const scalar: fc.Arbitrary<Node> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...kTrickyPlain).map((s) => ({ t: 'plain' as const, s })) },
  { weight: 1, arbitrary: text.map((s) => ({ t: 'dq' as const, s })) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: fc.constantFrom('a', ' ', "'", ':', '#', 'y'), maxLength: 8 })
      .map((s) => ({ t: 'sq' as const, s })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        header: fc.constantFrom('|', '|-', '|+', '>', '>-', '|2'),
        lines: fc.array(blockLine, { minLength: 1, maxLength: 4 }),
      })
      .map((r) => ({ t: 'block' as const, ...r })),
  },
);

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: scalar },
    {
      weight: 2,
      arbitrary: fc
        .record({
          flow: fc.boolean(),
          entries: fc.uniqueArray(fc.tuple(key, tie('node')), {
            maxLength: 4,
            selector: (e) => e[0],
          }),
        })
        .map((r) => ({ t: 'map' as const, ...r })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ flow: fc.boolean(), items: fc.array(tie('node'), { maxLength: 3 }) })
        .map((r) => ({ t: 'seq' as const, ...r })),
    },
  ),
}));

interface Emit {
  /** Probability switches drawn per document, so one stream mixes styles. */
  readonly comments: boolean;
  readonly anchors: boolean;
}

function scalarText(n: Node): string {
  if (n.t === 'plain') return n.s;
  if (n.t === 'sq') return `'${n.s.replace(/'/g, "''")}'`;
  if (n.t === 'dq') return JSON.stringify(n.s);
  return '""';
}

function flow(n: Node): string {
  if (n.t === 'map') return `{${n.entries.map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  if (n.t === 'seq') return `[${n.items.map(flow).join(', ')}]`;
  if (n.t === 'block') return JSON.stringify(n.lines.join('\n'));
  return scalarText(n);
}

/** `node` as the value after `key:` or `- ` at indentation `indent`: returns text starting on that line. */
function inline(n: Node, indent: number, o: Emit, salt: number): string {
  const pad = ' '.repeat(indent + 2);
  const anchor = o.anchors && salt % 7 === 0 ? `&a${salt % 3} ` : '';
  if (n.t === 'block') {
    const body = n.lines.map((l) => (l === '' ? '' : `${pad}${l}`)).join('\n');
    return ` ${anchor}${n.header}\n${body}`;
  }
  if (
    (n.t === 'map' || n.t === 'seq') &&
    !n.flow &&
    (n.t === 'map' ? n.entries.length : n.items.length) > 0
  ) {
    return `${anchor ? ` ${anchor.trim()}` : ''}\n${block(n, indent + 2, o, salt + 1)}`;
  }
  const comment = o.comments && salt % 5 === 0 ? ' # c' : '';
  if (o.anchors && salt % 11 === 0) return ` *a${salt % 3}${comment}`;
  return ` ${anchor}${flow(n)}${comment}`;
}

function block(n: Node, indent: number, o: Emit, salt: number): string {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  if (n.t === 'map' && !n.flow) {
    n.entries.forEach(([k, v], i) => {
      if (o.comments && (salt + i) % 4 === 0) lines.push(`${pad}# comment ${i}`);
      if (o.comments && (salt + i) % 6 === 0) lines.push('');
      lines.push(`${pad}${k}:${inline(v, indent, o, salt * 3 + i)}`);
    });
  } else if (n.t === 'seq' && !n.flow) {
    n.items.forEach((v, i) => {
      lines.push(`${pad}-${inline(v, indent, o, salt * 5 + i)}`);
    });
  } else {
    lines.push(`${pad}${flow(n)}`);
  }
  return lines.join('\n');
}

/** A whole stream: several documents with separators, comments and the occasional `...`. */
export const yamlStream: fc.Arbitrary<string> = fc
  .array(
    fc.record({
      root: fc.oneof(
        { weight: 4, arbitrary: node.filter((n) => n.t === 'map') },
        { weight: 1, arbitrary: node },
      ),
      lead: fc.constantFrom('', '# leading\n', '\n\n', '# a\n\n# b\n'),
      marker: fc.constantFrom('---\n', '---\n', '--- # doc\n', '', '', '--- '),
      end: fc.constantFrom('', '', '...\n'),
      indent: fc.constantFrom(0, 0, 0, 2),
      comments: fc.boolean(),
      anchors: fc.boolean().map((b) => b && Math.random() < 0.2),
      salt: fc.nat(1000),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((docs) =>
    docs
      .map((d, i) => {
        const o: Emit = { comments: d.comments, anchors: d.anchors };
        // `--- ` followed by the content on the same line only works for flow content.
        const body =
          d.marker === '--- '
            ? flow(d.root)
            : d.root.t === 'block'
              ? inline(d.root, -2, o, d.salt).trimStart()
              : block(d.root, d.indent, o, d.salt);
        const marker = i === 0 && d.marker === '' ? '' : d.marker === '' ? '---\n' : d.marker;
        return `${d.lead}${marker}${body}\n${d.end}`;
      })
      .join(''),
  );

/** Small random edits (deletions, insertions of syntax characters) to reach invalid inputs. */
export const mutatedStream: fc.Arbitrary<string> = fc
  .tuple(
    yamlStream,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom(
          '',
          ':',
          ' ',
          '-',
          '\t',
          '"',
          "'",
          '#',
          '\n',
          '{',
          '[',
          '  ',
          '&',
          '*',
          '!',
          '|',
          // A closing quote or flow indicator glued to a comment, and line breaks inside scalars.
          '"#',
          "'#",
          ']#',
          '}#',
          '\\\n',
          '\n  ',
        ),
      ),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
  )
  .map(([s, edits]) => {
    let out = s;
    for (const [pos, ch] of edits) {
      const at = out.length === 0 ? 0 : pos % out.length;
      out = ch === '' ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + ch + out.slice(at);
    }
    return out;
  });

/**
 * Quoted scalars in every position (block value, sequence item, flow item, key, document root),
 * spanning lines (raw and escaped line breaks, with enough or too little indentation), holding
 * escaped quotes, and followed by a comment with or without the white space before it, or by
 * another indicator. Targets the adjacency rules the two parsers disagree on.
 */
export const quotedStream: fc.Arbitrary<string> = fc
  .array(
    fc.record({
      sq: fc.boolean(),
      /** A backslash in a double-quoted body ends the line (escaped line break) or is escaped. */
      escapedBreak: fc.boolean(),
      body: fc.array(fc.constantFrom('a', ' ', '#', "'", '"', '\\', '\n', '\n\n', ':', ',', ']', '}', '\t'), {
        maxLength: 8,
      }),
      // Indentation of continuation lines, relative to the line holding the opening quote.
      cont: fc.constantFrom(0, 1, 2, 4),
      // What follows the closing quote: mostly valid, so that most streams get compared.
      after: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('', ' # c', ' ', '\t#c') },
        { weight: 1, arbitrary: fc.constantFrom('#', '#c', ',', ']', '}', ':', ': v', '"#', "'#") },
      ),
      at: fc.constantFrom('value', 'item', 'flowSeq', 'flowMap', 'key', 'root', 'nested'),
      sep: fc.constantFrom('\n', '\n', '\n---\n', '\n# c\n', '\n\n'),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((items) =>
    items
      .map((q, i) => {
        const indent = q.at === 'nested' ? 2 : 0;
        const pad = ' '.repeat(indent + q.cont);
        const body = q.body
          .map((c) => {
            if (c === '\n' || c === '\n\n') return `${c}${pad}`;
            if (q.sq) return c === "'" ? "''" : c;
            if (c === '"') return '\\"';
            if (c === '\\') return q.escapedBreak ? `\\\n${pad}` : '\\\\';
            return c;
          })
          .join('');
        const quoted = q.sq ? `'${body}'${q.after}` : `"${body}"${q.after}`;
        const line =
          q.at === 'value'
            ? `k${i}: ${quoted}`
            : q.at === 'item'
              ? `- ${quoted}`
              : q.at === 'flowSeq'
                ? `[${quoted}, x]`
                : q.at === 'flowMap'
                  ? `{k: ${quoted}}`
                  : q.at === 'key'
                    ? `${quoted}: v`
                    : q.at === 'nested'
                      ? `n${i}:\n  k: ${quoted}`
                      : quoted;
        return i === 0 ? line : `${q.sep}${line}`;
      })
      .join('')
      .concat('\n'),
  );
