/**
 * One configuration file's text → `SourceObject`s with locations. Called by the file source for
 * every changed file and by `loadDirectory`. Pure; never throws.
 *
 * Contract:
 * - Every non-empty document that is a mapping becomes one object; `kind: List` documents (what
 *   `kubectl get -o yaml` writes) become one object per item.
 * - Each object's location carries the source name, the file (as given), the 1-based start line
 *   and the document index, and — in the default `eager` mode — `fieldLines` (JSON pointer → line
 *   for every map key and list item). The file source uses `lazy` mode (see `ParseOptions`).
 * - A syntax error anywhere makes the whole file unusable: `ok` is false, `objects` is empty and the
 *   caller keeps the file's last good objects. A document that parses but is not a mapping is only
 *   a problem for that document; the rest of the file is used.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Node } from 'yaml';
import type { ResourceLocation } from '../../resources/key.js';
import { kConfigAnnotation } from '../../resources/normalize/annotation.js';
import type { SourceObject, SourceProblem } from '../../resources/types.js';
import { nodeLines, parseYamlStream, type YamlDocument } from '../../resources/yaml.js';
import { loadFast } from './fast-yaml.js';
import { documentAt, listItemNodes, type TextIndexCache } from './field-lines.js';

export interface ParsedFile {
  readonly objects: SourceObject[];
  readonly problems: SourceProblem[];
  /** False when the text has a syntax error (then `objects` is empty). */
  readonly ok: boolean;
}

export interface ParseOptions {
  /**
   * `eager` (default): every object carries `fieldLines`, read with the reference yaml reader.
   * `lazy`: the fast loader (`fast-yaml.ts`, or `JSON.parse` for `.json`), and `fieldLines` only
   * where the resources stage needs them while it builds (`List` items, objects carrying a
   * `getambassador.io/config` annotation); the rest are filled on demand by `field-lines.ts`.
   * Objects, problems, document indexes and start lines are the same in both modes.
   */
  readonly fieldLines?: 'eager' | 'lazy';
}

export function parseConfigText(
  text: string,
  file: string,
  source: string,
  opts: ParseOptions = {},
): ParsedFile {
  if (opts.fieldLines === 'lazy') {
    const fast = parseFast(text, file, source);
    if (fast) return fast;
  }
  return parseReference(text, file, source);
}

/** The reference reader over the whole text; also the fallback of the fast path. */
function parseReference(text: string, file: string, source: string): ParsedFile {
  const objects: SourceObject[] = [];
  const problems: SourceProblem[] = [];
  let stream: ReturnType<typeof parseYamlStream>;
  try {
    stream = parseYamlStream(text);
  } catch (err) {
    problems.push({ location: { source, file, line: 1 }, message: `cannot parse: ${String(err)}` });
    return { objects: [], problems, ok: false };
  }
  for (const doc of stream.documents) {
    if (doc.error) {
      problems.push({
        location: { source, file, line: doc.error.line, docIndex: doc.index },
        message: `YAML error in document ${doc.index}: ${doc.error.message}`,
      });
    }
  }
  if (problems.length > 0) return { objects: [], problems, ok: false };
  for (const doc of stream.documents) documentObjects(doc, stream.lineAt, source, file, objects, problems);
  return { objects, problems, ok: true };
}

/**
 * Fast path; `undefined` when the fast loader declines the text (then the reference reader runs,
 * so errors and edge cases read exactly as before).
 */
function parseFast(text: string, file: string, source: string): ParsedFile | undefined {
  const docs = (/\.json$/i.test(file) ? loadJson(text) : undefined) ?? loadFast(text);
  if (!docs) return undefined;
  const objects: SourceObject[] = [];
  const problems: SourceProblem[] = [];
  let cache: TextIndexCache | undefined;
  for (const doc of docs) {
    const value = doc.value;
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value)) {
      problems.push(notMapping(source, file, doc.line, doc.index, value));
      continue;
    }
    if (Array.isArray(value['kind'] === 'List' ? value['items'] : undefined) || carriesAnnotation(value)) {
      // The build needs these lines at once: read this one document with the reference reader.
      cache ??= new Map();
      const located = documentAt(text, doc.line, doc.index, cache);
      if (!located || !isDeepStrictEqual(located.doc.value, value)) return undefined;
      documentObjects(located.doc, located.lineAt, source, file, objects, problems);
      continue;
    }
    objects.push({ object: value, location: { source, file, line: doc.line, docIndex: doc.index } });
  }
  return { objects, problems, ok: true };
}

/** A `.json` file: one document starting at its first non-blank line; `undefined` if not JSON. */
function loadJson(text: string): { index: number; line: number; value: unknown }[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const first = text.search(/\S/);
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < first; i = text.indexOf('\n', i + 1)) line++;
  return [{ index: 0, line, value }];
}

function carriesAnnotation(obj: Record<string, unknown>): boolean {
  const metadata = obj['metadata'];
  if (!isPlainObject(metadata)) return false;
  const annotations = metadata['annotations'];
  return isPlainObject(annotations) && Object.hasOwn(annotations, kConfigAnnotation);
}

/** One document of the reference reader → its objects (one, or one per `List` item), lines included. */
function documentObjects(
  doc: YamlDocument,
  lineAt: (offset: number) => number,
  source: string,
  file: string,
  objects: SourceObject[],
  problems: SourceProblem[],
): void {
  const value = doc.value;
  if (value === null || value === undefined) return;
  if (!isPlainObject(value)) {
    problems.push(notMapping(source, file, doc.line, doc.index, value));
    return;
  }
  const items = value['kind'] === 'List' ? value['items'] : undefined;
  if (Array.isArray(items)) {
    const seq = listItemNodes(doc.node);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const node = (seq?.[i] as Node | undefined) ?? null;
      const line = node?.range ? lineAt(node.range[0]) : doc.line;
      if (!isPlainObject(item)) {
        problems.push({
          location: { source, file, line, docIndex: doc.index },
          message: `item ${i} of the List in document ${doc.index} is ${describe(item)}, not a mapping`,
        });
        continue;
      }
      objects.push({ object: item, location: locate(node, { source, file, line, docIndex: doc.index }) });
    }
    return;
  }
  objects.push({
    object: value,
    location: locate(doc.node, { source, file, line: doc.line, docIndex: doc.index }),
  });

  function locate(node: Node | null, base: ResourceLocation): ResourceLocation {
    const { fieldLines, textLines } = nodeLines(node, lineAt);
    return textLines ? { ...base, fieldLines, textLines } : { ...base, fieldLines };
  }
}

function notMapping(
  source: string,
  file: string,
  line: number,
  index: number,
  value: unknown,
): SourceProblem {
  return {
    location: { source, file, line, docIndex: index },
    message: `document ${index} is ${describe(value)}, not a mapping (expected a Kubernetes-style object)`,
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return 'a string';
  return `a ${typeof v}`;
}
