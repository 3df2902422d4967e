/**
 * Field lines on demand. The fast parse (`parse.ts`, lazy mode) records only each object's
 * document and start line; the line of every field (`location.fieldLines`) is worked out here,
 * with the reference yaml reader, only for objects that need it: objects with a problem naming a
 * field (`attachFieldLines`, called by the composition root and `legate validate` after the
 * build) and, at parse time, `List` documents and objects carrying a `getambassador.io/config`
 * annotation (the resources stage needs those lines while it builds).
 *
 * Only the document that holds the object is re-read: a document ends at a `---` or `...` line
 * at column 0 (YAML forbids those inside content, block scalars included), so the slice between
 * two such lines is the document. The document found there must start exactly at the object's
 * recorded line; otherwise (directives, odd markers) the whole file is re-read, cached per text.
 * Results are exact: the same reader and the same `nodeLines` walk as the eager parse.
 */
import { isMap, isSeq, type Node } from 'yaml';
import type { ResourceLocation } from '../../resources/key.js';
import { foldFlat, isFlatLayout, parseApiVersion } from '../../resources/normalize/layout.js';
import type { ResourceStatus, SourceSnapshot } from '../../resources/types.js';
import { nodeLines, parseYamlStream, type YamlDocument } from '../../resources/yaml.js';

/** A document re-read by the reference reader, with lines relative to the whole file. */
export interface LocatedDocument {
  readonly doc: YamlDocument;
  /** Character offset in the re-read text → 1-based file line. */
  readonly lineAt: (offset: number) => number;
}

export interface ObjectLines {
  readonly fieldLines: Record<string, number>;
  readonly textLines: Record<string, number> | undefined;
  /** The object as written (before any layout folding). */
  readonly value: unknown;
}

/** What is worked out once per text: line starts, and the whole-file fallback parse. */
interface TextIndex {
  readonly lineStarts: number[];
  whole?: ReturnType<typeof parseYamlStream>;
}

/**
 * Per-text indexes, for one pass over a set of texts (one `attachFieldLines` call, one parse).
 * Callers create one and drop it when done: a cache that outlives the pass would keep old file
 * texts (and whole-file parses) alive after the files change.
 */
export type TextIndexCache = Map<string, TextIndex>;

function indexOf(text: string, cache: TextIndexCache): TextIndex {
  let idx = cache.get(text);
  if (idx) return idx;
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  idx = { lineStarts };
  cache.set(text, idx);
  return idx;
}

/** `---` or `...` at column 0, alone or followed by white space. */
function markerAt(text: string, start: number): '---' | '...' | undefined {
  const c = text.charCodeAt(start);
  if (c !== 0x2d && c !== 0x2e) return undefined;
  if (text.charCodeAt(start + 1) !== c || text.charCodeAt(start + 2) !== c) return undefined;
  const next = text.charCodeAt(start + 3);
  if (Number.isNaN(next) || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d) {
    return c === 0x2d ? '---' : '...';
  }
  return undefined;
}

/**
 * The document of `text` containing the object that starts on 1-based `line` (a document root or
 * a `List` item) and has document index `docIndex`. `undefined` when the text does not parse.
 */
export function documentAt(
  text: string,
  line: number,
  docIndex: number,
  cache: TextIndexCache = new Map(),
): LocatedDocument | undefined {
  const idx = indexOf(text, cache);
  const starts = idx.lineStarts;
  if (line >= 1 && line <= starts.length) {
    let first = 1;
    for (let l = line; l >= 1; l--) {
      const m = markerAt(text, starts[l - 1]);
      if (m === '---') {
        first = l;
        break;
      }
      if (m === '...' && l < line) {
        first = l + 1;
        break;
      }
    }
    let end = text.length;
    for (let l = line + 1; l <= starts.length; l++) {
      if (markerAt(text, starts[l - 1])) {
        end = starts[l - 1];
        break;
      }
    }
    const shift = first - 1;
    const stream = parseYamlStream(text.slice(starts[first - 1], end));
    const lineAt = (offset: number): number => stream.lineAt(offset) + shift;
    for (const d of stream.documents) {
      if (d.error) break;
      if (d.value === null || d.node === null) continue;
      const doc = { ...d, index: docIndex, line: d.line + shift };
      if (doc.line === line || findListItem(doc, lineAt, line) !== undefined) return { doc, lineAt };
      break;
    }
  }
  // Fallback: the whole file, once per text and cache.
  idx.whole ??= parseYamlStream(text);
  const doc = idx.whole.documents[docIndex];
  if (!doc || doc.error) return undefined;
  return { doc, lineAt: idx.whole.lineAt };
}

/** Index of the `List` item of `doc` that starts on `line`, if `doc` is a List. */
function findListItem(
  doc: YamlDocument,
  lineAt: (offset: number) => number,
  line: number,
): number | undefined {
  const items = listItemNodes(doc.node);
  if (!items) return undefined;
  for (let i = 0; i < items.length; i++) {
    const r = (items[i] as Node | null)?.range;
    if (r && lineAt(r[0]) === line) return i;
  }
  return undefined;
}

/** The item nodes of a `kind: List` document's `items`. */
export function listItemNodes(root: Node | null): readonly unknown[] | undefined {
  if (!isMap(root)) return undefined;
  for (const pair of root.items) {
    const key = pair.key as { value?: unknown } | null;
    if (key?.value === 'items') return isSeq(pair.value) ? pair.value.items : undefined;
  }
  return undefined;
}

/** Field lines of the object at `location` in `text` (the text it was parsed from). */
export function objectLines(
  text: string,
  location: ResourceLocation,
  cache: TextIndexCache = new Map(),
): ObjectLines | undefined {
  if (location.line === undefined || location.docIndex === undefined) return undefined;
  const found = documentAt(text, location.line, location.docIndex, cache);
  if (!found) return undefined;
  const { doc, lineAt } = found;
  let node: Node | null = doc.node;
  let value: unknown = doc.value;
  if (doc.line !== location.line) {
    const i = findListItem(doc, lineAt, location.line);
    if (i === undefined) return undefined;
    node = listItemNodes(doc.node)![i] as Node;
    value = ((doc.value as { items: unknown[] }).items ?? [])[i];
  }
  const { fieldLines, textLines } = nodeLines(node, lineAt);
  return { fieldLines, textLines, value };
}

/**
 * Statuses with `location.fieldLines` filled in where a condition names a field and the lines are
 * not known yet. `textOf(location)` gives the text the object's file was parsed from (its last
 * good contents; see `snapshotTexts`). Objects from annotations already carry their lines and are
 * left alone. Returns the input array itself when nothing needed lines.
 */
export function attachFieldLines(
  statuses: readonly ResourceStatus[],
  textOf: (location: ResourceLocation) => string | undefined,
): readonly ResourceStatus[] {
  let out: ResourceStatus[] | undefined;
  const cache: TextIndexCache = new Map();
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i];
    const loc = s.location;
    if (!loc.file || loc.fieldLines || loc.parent !== undefined) continue;
    if (!s.conditions.some((c) => c.field !== undefined)) continue;
    const text = textOf(loc);
    if (text === undefined) continue;
    const lines = objectLines(text, loc, cache);
    if (!lines) continue;
    out ??= statuses.slice();
    out[i] = { ...s, location: { ...loc, fieldLines: asBuilt(lines) } };
  }
  return out ?? statuses;
}

/** `textOf` for `attachFieldLines` over the texts the sources' snapshots carry. */
export function snapshotTexts(
  sets: readonly SourceSnapshot[],
): (location: ResourceLocation) => string | undefined {
  return (loc) => {
    if (loc.file === undefined) return undefined;
    for (const s of sets) {
      if (s.source === loc.source && s.texts && Object.hasOwn(s.texts, loc.file)) return s.texts[loc.file];
    }
    return undefined;
  };
}

/** The resources stage folds the flat Ambassador layout, field lines included; do the same. */
function asBuilt(lines: ObjectLines): Record<string, number> {
  const v = lines.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return lines.fieldLines;
  const obj = v as Record<string, unknown>;
  const apiVersion = typeof obj['apiVersion'] === 'string' ? obj['apiVersion'] : '';
  if (parseApiVersion(apiVersion).group !== 'getambassador.io' || !isFlatLayout(obj)) return lines.fieldLines;
  return foldFlat(obj, lines.fieldLines).fieldLines ?? lines.fieldLines;
}
