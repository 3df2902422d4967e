/**
 * One configuration file's text → `SourceObject`s with locations. Called by the file source for
 * every changed file and by `loadDirectory`. Pure; never throws.
 *
 * Contract:
 * - Every non-empty document that is a mapping becomes one object; `kind: List` documents (what
 *   `kubectl get -o yaml` writes) become one object per item.
 * - Each object's location carries the source name, the file (as given), the 1-based start line,
 *   the document index, and `fieldLines` (JSON pointer → line for every map key and list item).
 * - A syntax error anywhere makes the whole file unusable: `ok` is false, `objects` is empty and the
 *   caller keeps the file's last good objects. A document that parses but is not a mapping is only
 *   a problem for that document; the rest of the file is used.
 */
import type { Node } from 'yaml';
import type { ResourceLocation } from '../../resources/key.js';
import type { SourceObject, SourceProblem } from '../../resources/types.js';
import { nodeLines, parseYamlStream } from '../../resources/yaml.js';

export interface ParsedFile {
  readonly objects: SourceObject[];
  readonly problems: SourceProblem[];
  /** False when the text has a syntax error (then `objects` is empty). */
  readonly ok: boolean;
}

export function parseConfigText(text: string, file: string, source: string): ParsedFile {
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

  for (const doc of stream.documents) {
    const value = doc.value;
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value)) {
      problems.push({
        location: { source, file, line: doc.line, docIndex: doc.index },
        message: `document ${doc.index} is ${describe(value)}, not a mapping (expected a Kubernetes-style object)`,
      });
      continue;
    }
    const items = value['kind'] === 'List' ? value['items'] : undefined;
    if (Array.isArray(items)) {
      const seq = listItemsNode(doc.node);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const node = (seq?.[i] as Node | undefined) ?? null;
        const line = node?.range ? stream.lineAt(node.range[0]) : doc.line;
        if (!isPlainObject(item)) {
          problems.push({
            location: { source, file, line, docIndex: doc.index },
            message: `item ${i} of the List in document ${doc.index} is ${describe(item)}, not a mapping`,
          });
          continue;
        }
        objects.push({ object: item, location: locate(node, { source, file, line, docIndex: doc.index }) });
      }
      continue;
    }
    objects.push({
      object: value,
      location: locate(doc.node, { source, file, line: doc.line, docIndex: doc.index }),
    });
  }

  function locate(node: Node | null, base: ResourceLocation): ResourceLocation {
    const { fieldLines, textLines } = nodeLines(node, stream.lineAt);
    return textLines ? { ...base, fieldLines, textLines } : { ...base, fieldLines };
  }

  return { objects, problems, ok: true };
}

function listItemsNode(root: Node | null): unknown[] | undefined {
  const items = (root as { items?: { key?: { value?: unknown }; value?: { items?: unknown[] } }[] } | null)
    ?.items;
  if (!Array.isArray(items)) return undefined;
  for (const pair of items) {
    if (pair?.key?.value === 'items') return pair.value?.items;
  }
  return undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return 'a string';
  return `a ${typeof v}`;
}
