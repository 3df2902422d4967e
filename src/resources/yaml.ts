/**
 * Multi-document YAML reading with line numbers, shared by the file source (whole files) and the
 * annotation reader in `normalize/` (the `getambassador.io/config` value). Pure; never throws.
 *
 * Dialect: YAML 1.1 scalars, because Kubernetes (sigs.k8s.io/yaml) and Emissary both read YAML 1.1,
 * so `yes`/`no`/`on`/`off` are booleans as they would be after `kubectl apply` (single-letter
 * `y`/`n` stay strings, as in PyYAML). Timestamps and
 * base-60 numbers are left out of the 1.1 schema: Kubernetes objects have no such fields and turning
 * `1:30` or `2024-01-01` into a number or a Date would only corrupt strings. Alias expansion is capped
 * (the library default) so a crafted file cannot blow up memory.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';

/** One YAML document of a stream. */
export interface YamlDocument {
  /** 0-based index in the stream (empty documents count, so indexes match what the user sees). */
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  /** The plain JS value; `null` for an empty document. Meaningless when `error` is set. */
  readonly value: unknown;
  /** The document's root node, kept so callers can compute lines for a sub-tree (`List` items). */
  readonly node: Node | null;
  /** First syntax error, with its 1-based line. */
  readonly error?: { readonly message: string; readonly line: number };
}

export interface YamlStream {
  readonly documents: readonly YamlDocument[];
  /** Turns a character offset into a 1-based line. */
  readonly lineAt: (offset: number) => number;
}

const kTrue = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const kFalse = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
const kSkippedTags = new Set(['tag:yaml.org,2002:timestamp']);

/**
 * The dialect as a `customTags` hook for the yaml library's 1.1 schema. Exported so the file
 * source's fast loader (`sources/file/fast-yaml.ts`) resolves plain scalars with exactly these tags.
 */
export const kYamlCustomTags = (tags: unknown[]): never =>
  tags
    .filter((t) => {
      const tag = t as { tag?: string; format?: string };
      return !kSkippedTags.has(tag.tag ?? '') && tag.format !== 'TIME';
    })
    .map((t) => {
      // Single-letter y/n stay strings (as in PyYAML, which Emissary used): `y: 1` keeps key "y".
      const tag = t as { tag?: string; test?: RegExp };
      if (tag.tag !== 'tag:yaml.org,2002:bool' || !tag.test) return t;
      const yes = tag.test.test('yes');
      return { ...tag, test: yes ? kTrue : kFalse };
    }) as never;

const kOptions = {
  version: '1.1' as const,
  // Drop timestamp and base-60 (`format: 'TIME'`) resolution; see header.
  customTags: kYamlCustomTags,
  uniqueKeys: true,
  prettyErrors: true,
};

export function parseYamlStream(text: string): YamlStream {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const documents: YamlDocument[] = [];
  const docs = parseAllDocuments(text, { ...kOptions, lineCounter });
  const list = Array.isArray(docs) ? docs : [];
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    const node = (doc.contents as Node | null) ?? null;
    const start = node?.range?.[0] ?? doc.range[0];
    const line = lineAt(start);
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const errLine = err.linePos?.[0]?.line ?? lineAt(err.pos[0]);
      documents.push({
        index: i,
        line: errLine,
        value: null,
        node: null,
        error: { message: firstLine(err.message), line: errLine },
      });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Excessive aliasing and similar: reported like a syntax error.
      documents.push({
        index: i,
        line,
        value: null,
        node: null,
        error: { message: firstLine(String((err as Error)?.message ?? err)), line },
      });
      continue;
    }
    documents.push({ index: i, line, value: value ?? null, node });
  }
  return { documents, lineAt };
}

/** The yaml library's pretty messages span several lines (with a code excerpt); keep the first. */
function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return (nl < 0 ? message : message.slice(0, nl)).trim().replace(/:$/, '');
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(key: string): string {
  if (key.indexOf('~') < 0 && key.indexOf('/') < 0) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export interface NodeLines {
  readonly fieldLines: Record<string, number>;
  readonly textLines: Record<string, number> | undefined;
}

/**
 * Lines of every map key and sequence item under `node`, keyed by JSON pointer relative to it,
 * plus the first content line of every literal block scalar. One walk over the tree.
 */
export function nodeLines(node: Node | null, lineAt: (offset: number) => number): NodeLines {
  const fieldLines: Record<string, number> = {};
  let textLines: Record<string, number> | undefined;
  const walk = (n: unknown, pointer: string): void => {
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = pair.key;
        const name = isScalar(key) ? String(key.value) : String(key);
        const p = `${pointer}/${pointerSegment(name)}`;
        const range = (key as Node | null)?.range;
        if (range) fieldLines[p] = lineAt(range[0]);
        walk(pair.value, p);
      }
    } else if (isSeq(n)) {
      for (let i = 0; i < n.items.length; i++) {
        const item = n.items[i] as Node | null;
        const p = `${pointer}/${i}`;
        if (item?.range) fieldLines[p] = lineAt(item.range[0]);
        walk(item, p);
      }
    } else if (isScalar(n) && n.type === 'BLOCK_LITERAL' && n.range) {
      // The header (`|`) is on the first line of the range; content starts on the next one.
      textLines ??= {};
      textLines[pointer] = lineAt(n.range[0]) + 1;
    }
  };
  walk(node, '');
  return { fieldLines, textLines };
}
