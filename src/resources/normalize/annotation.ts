/**
 * The `getambassador.io/config` annotation on a Service (or Ingress) → the objects it holds
 * (§1.3 of the compatibility reference). Called by `resources/build.ts`, which then processes each
 * object exactly like a file document (flat layout folded, namespace and labels defaulted from the
 * parent). Pure; never throws.
 *
 * Locations: embedded objects point into the parent's file. When the annotation was written as a
 * literal block scalar (`|`), line i of the value is file line (first content line + i), so every
 * field keeps its exact line; otherwise (quoted, folded, or from Kubernetes) every field points at
 * the annotation's own line.
 */
import type { ResourceLocation } from '../key.js';
import { nodeLines, parseYamlStream } from '../yaml.js';
import { annotationPointer } from './layout.js';

export const kConfigAnnotation = 'getambassador.io/config';

export interface EmbeddedObject {
  readonly object: unknown;
  /** Location without `parent` (the caller adds the parent's final key). */
  readonly location: ResourceLocation;
}

export interface AnnotationResult {
  readonly objects: EmbeddedObject[];
  /** Problems for the parent's status (`AnnotationParseError`). */
  readonly problems: string[];
}

export function expandAnnotation(text: string, parent: ResourceLocation): AnnotationResult {
  const pointer = annotationPointer(kConfigAnnotation);
  const annotationLine = parent.fieldLines?.[pointer] ?? parent.line;
  const textStart = parent.textLines?.[pointer];
  const toFileLine = (line: number): number | undefined =>
    textStart !== undefined ? textStart + line - 1 : annotationLine;

  let stream: ReturnType<typeof parseYamlStream>;
  try {
    stream = parseYamlStream(text);
  } catch (err) {
    return { objects: [], problems: [`${kConfigAnnotation} does not parse: ${String(err)}`] };
  }
  for (const doc of stream.documents) {
    if (doc.error) {
      return {
        objects: [],
        problems: [
          `${kConfigAnnotation} is not valid YAML (line ${doc.error.line} of the annotation): ${doc.error.message}; none of its objects are used`,
        ],
      };
    }
  }
  const objects: EmbeddedObject[] = [];
  const problems: string[] = [];
  for (const doc of stream.documents) {
    if (doc.value === null || doc.value === undefined) continue;
    if (typeof doc.value !== 'object' || Array.isArray(doc.value)) {
      problems.push(
        `${kConfigAnnotation} document ${doc.index} (line ${doc.line} of the annotation) is not a mapping; skipped`,
      );
      continue;
    }
    let fieldLines: Record<string, number> | undefined;
    if (textStart !== undefined) {
      fieldLines = nodeLines(doc.node, stream.lineAt).fieldLines;
      for (const p of Object.keys(fieldLines)) fieldLines[p] = textStart + fieldLines[p] - 1;
    }
    const base = {
      source: parent.source,
      file: parent.file,
      line: toFileLine(doc.line),
      docIndex: parent.docIndex,
    };
    objects.push({ object: doc.value, location: fieldLines ? { ...base, fieldLines } : base });
  }
  return { objects, problems };
}
