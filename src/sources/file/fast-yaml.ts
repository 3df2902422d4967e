/**
 * Fast multi-document YAML loading for the file source: js-yaml, which builds plain values
 * directly and is about five times faster than the yaml library's tokenizer/composer on large
 * files. Called by `parse.ts` only; the yaml library (`resources/yaml.ts`) stays the reference
 * parser, used for error messages, field lines and every input this loader declines.
 *
 * Contract: `loadFast` either returns exactly what `parseYamlStream` would (same documents, same
 * indexes, same content start lines, deep-equal values) or `undefined`, meaning "use the
 * reference parser". It declines rather than guesses:
 * - any syntax error or warning (messages and lines must stay the reference parser's);
 * - explicit tags (`!!str`, `!foo`): the schema below has no explicit tags, so js-yaml rejects them;
 * - anchors/aliases (the reference parser caps alias expansion) and `<<` merge keys;
 * - a mapping key that is null or "null" (js-yaml turns a null key into "null", the yaml
 *   library into "");
 * - text matching `kAmbiguous` below.
 * Plain scalars are resolved with the yaml library's own 1.1 tag objects, configured by the same
 * `kYamlCustomTags` hook, so the dialect (YAML 1.1 booleans without y/n, no timestamps, no
 * base-60) is defined once. The property test in `fast-yaml.test.ts` checks the equivalence.
 */
import jsyaml from 'js-yaml';
import { isScalar, Schema } from 'yaml';
import { kYamlCustomTags } from '../../resources/yaml.js';

export interface FastDocument {
  /** 0-based index in the stream, counted as the reference parser counts. */
  readonly index: number;
  /** 1-based line where the document's content starts (after `---` and comments). */
  readonly line: number;
  /** Plain value; `null` for an empty document. */
  readonly value: unknown;
}

interface YamlScalarTag {
  readonly tag: string;
  readonly default?: boolean | 'key';
  readonly test?: RegExp;
  readonly collection?: string;
  resolve(value: string, onError: (message: string) => void, options: object): unknown;
}

const kResolveOptions = { intAsBigInt: false };

/** Per-call state; `loadFast` is synchronous, so module scope is safe. */
let declined = false;
let pending: YamlScalarTag | undefined;

const decline = (): void => {
  declined = true;
};

const kSchema = buildSchema();

/**
 * One js-yaml type per tag name (js-yaml keeps one type per tag), each trying the yaml library's
 * tests for that tag in the library's order; the groups are contiguous there, so order holds.
 */
function buildSchema(): jsyaml.Schema {
  const tags = new Schema({ schema: 'yaml-1.1', customTags: kYamlCustomTags })
    .tags as unknown as YamlScalarTag[];
  const groups = new Map<string, YamlScalarTag[]>();
  for (const t of tags) {
    if (t.default !== true || !t.test || t.collection) continue;
    const g = groups.get(t.tag);
    if (g) g.push(t);
    else groups.set(t.tag, [t]);
  }
  const implicit: jsyaml.Type[] = [];
  for (const [name, group] of groups) {
    implicit.push(
      new jsyaml.Type(name, {
        kind: 'scalar',
        resolve: (data: unknown) => {
          if (typeof data !== 'string') return false;
          for (const t of group) {
            if (t.test!.test(data)) {
              pending = t;
              return true;
            }
          }
          return false;
        },
        construct: (data: string) => {
          const t = pending!;
          pending = undefined;
          const r = t.resolve(data, decline, kResolveOptions);
          return isScalar(r) ? r.value : r;
        },
      }),
    );
  }
  // `<<` as a key is a merge in YAML 1.1; merges are left to the reference parser.
  implicit.push(
    new jsyaml.Type('tag:yaml.org,2002:merge', {
      kind: 'scalar',
      resolve: (data: unknown) => data === '<<',
      construct: () => {
        declined = true;
        return '<<';
      },
    }),
  );
  return new jsyaml.Schema({ implicit, explicit: [] });
}

/** Listener state: content start line of each document root, and whether any document has anchors. */
let rootLines: number[] = [];

function listener(event: jsyaml.EventType, state: jsyaml.State): void {
  const s = state as jsyaml.State & { depth: number; anchorMap: Record<string, unknown> };
  if (event === 'open') {
    if (s.depth === 1) rootLines.push(s.line + 1);
    return;
  }
  // Key "null": written as a null scalar or left empty, js-yaml and the yaml library disagree.
  // A collection key: js-yaml makes "[object Object]" of a mapping, the yaml library its flow text.
  if (
    s.kind === 'mapping' &&
    s.result !== null &&
    (Object.hasOwn(s.result as object, 'null') || Object.hasOwn(s.result as object, '[object Object]'))
  )
    declined = true;
  if (s.depth === 1) {
    for (const _ in s.anchorMap) {
      declined = true;
      break;
    }
  }
}

const kLoadOptions: jsyaml.LoadOptions = {
  schema: kSchema,
  json: false,
  // Stop at the first warning: the text is declined anyway, and js-yaml builds a code excerpt
  // from the start of the text for every warning, which is quadratic over many warned lines.
  onWarning: (warning) => {
    throw warning;
  },
  listener,
};

/**
 * Text the two libraries read differently, found by the property tests: lone CRs (line
 * counting); directives (`%YAML 1.2` switches the yaml library to the 1.2 schema); `----` or
 * `...x` at a line start, and content on a `---` line (js-yaml is lenient with both, and with
 * content after `...`); tabs as indentation and `#` right after a flow indicator or a closing
 * quote (js-yaml takes the `#` as a comment, the yaml library rejects both). A quoted scalar may
 * span lines and hold escaped quotes, so its pattern runs from any quote that could open one
 * (line start, whitespace, `[{,:` before it) across line breaks to the next unescaped closing
 * quote; a mispaired quote only declines more. The loops are unrolled (`[^"\\]*(?:\\.[^"\\]*)*`)
 * so one scan is linear and a long unclosed quote cannot overflow the backtracking stack. An
 * escaped line break (a backslash ending a line) followed by a blank line: the libraries fold the blank
 * line differently (js-yaml drops it, the yaml library makes a space). Then:
 * block scalar indentation indicators and block scalars
 * as a document root; empty keys and collection keys (`? `, a flow
 * collection before `:`, a flow collection first in a flow mapping, a flow sequence after a comma
 * (a key there is a sequence: js-yaml joins it with commas), a null key of a single-pair
 * mapping in a flow sequence), which the libraries turn into different strings; tags (`!x`, and `!`,
 * which means "string" to the yaml library only); an empty sequence item (`-` alone or before a
 * comment), after which js-yaml folds the less-indented items that follow into the inner sequence.
 */
const kAmbiguous = new RegExp(
  [
    String.raw`\r(?!\n)`,
    '^%',
    String.raw`^(?:---|\.\.\.)[^\s]`,
    String.raw`^---[ \t]+[^\s#]`,
    String.raw`^ *\t`,
    String.raw`[[\]{},:]#`,
    String.raw`(?:^|[\s[{,:])"[^"\\]*(?:\\[^][^"\\]*)*"#`,
    String.raw`(?:^|[\s[{,:])'[^']*(?:''[^']*)*'#`,
    String.raw`\\\r?\n[ \t]*\r?$`,
    String.raw`^\.\.\.[ \t]+[^\s#]`,
    String.raw`^[ \t]*[|>]`,
    '[|>][+-]?[0-9]',
    String.raw`(?:^|[\s,[{])\?(?:\s|$)`,
    String.raw`[\]}]\s*:(?:[\s,\]}]|$)`,
    String.raw`[[{,]\s*:`,
    String.raw`[[{,]\s*(?:~|[Nn]ull|NULL)\s*:(?:[\s,\]}]|$)`,
    String.raw`\{\s*[[{]`,
    String.raw`,\s*\[`,
    String.raw`^[ \t]*(?:-[ \t]+)*:(?:\s|$)`,
    String.raw`(?:^|[\s,[{])!`,
    String.raw`^[ \t]*(?:-[ \t]+)*-[ \t]*(?:#.*)?\r?$`,
  ].join('|'),
  'm',
);

/** See the module header. Never throws. */
export function loadFast(text: string): FastDocument[] | undefined {
  if (kAmbiguous.test(text)) return undefined;
  declined = false;
  pending = undefined;
  rootLines = [];
  let values: unknown[];
  try {
    values = jsyaml.loadAll(text, null, kLoadOptions) as unknown[];
  } catch {
    return undefined;
  } finally {
    pending = undefined;
  }
  const lines = rootLines;
  rootLines = [];
  if (declined || lines.length !== values.length) return undefined;
  const docs: FastDocument[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] === undefined ? null : values[i];
    docs[i] = { index: i, line: lines[i], value };
  }
  return docs;
}
