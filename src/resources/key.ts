/**
 * Resource identity and location.
 *
 * Every object gets a key the moment a source reads it: `Kind/namespace/name`, plus `#n` when one
 * file document or one annotation yields several objects. The same string is used in conditions,
 * diagnostics rows, metrics labels and log fields, so an operator can grep it end to end.
 * (Idea from Emissary's rkey/Location and Traefik's name@provider.)
 */

/** Where an object came from. Serialisable: it travels with the IR to diagnostics and workers. */
export interface ResourceLocation {
  /** Name of the source that produced it (`file`, `kubernetes`). */
  readonly source: string;
  /** File path relative to the configuration directory (file source), or `namespace/name` of the parent object. */
  readonly file?: string;
  /** 1-based line of the document (or annotation value) start in `file`. */
  readonly line?: number;
  /** 0-based index of the YAML document within the file. */
  readonly docIndex?: number;
  /**
   * 1-based line of individual fields, keyed by JSON pointer into the object as written
   * (`/spec/prefix`). Filled by the file source; used only to point errors at a line.
   */
  readonly fieldLines?: Readonly<Record<string, number>>;
  /**
   * For multi-line strings written as YAML literal block scalars (`|`): JSON pointer → 1-based file
   * line of the string's first line, so line i (0-based) of the value sits at that line + i. Lets
   * objects embedded in an annotation point their errors at the right file line.
   */
  readonly textLines?: Readonly<Record<string, number>>;
  /** Key of the object this one was embedded in (the Service carrying an annotation). */
  readonly parent?: string;
}

export interface KeyParts {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Disambiguates several objects from one file document or one annotation. */
  readonly index?: number;
}

/** `Kind/namespace/name` or `Kind/namespace/name#n`. */
export function resourceKey(parts: KeyParts): string {
  const base = `${parts.kind}/${parts.namespace}/${parts.name}`;
  return parts.index === undefined ? base : `${base}#${parts.index}`;
}

/** `file:line` for humans; falls back to the source name. */
export function formatLocation(loc: ResourceLocation, field?: string): string {
  if (!loc.file) return loc.source;
  const line = (field && lineOfField(loc, field)) ?? loc.line;
  return line ? `${loc.file}:${line}` : loc.file;
}

/**
 * Line of a field given as a dotted path (`spec.headers.x-foo`, `spec.rules[0].host`) or JSON pointer. Walks up to the
 * nearest ancestor that has a recorded line.
 */
export function lineOfField(loc: ResourceLocation, field: string): number | undefined {
  const lines = loc.fieldLines;
  if (!lines) return loc.line;
  // `spec.rules[0].host` (Kubernetes' list-index form) reads as `spec.rules.0.host`.
  const dotted = field.includes('[') ? field.replace(/\[(\d+)\]/g, '.$1') : field;
  let pointer = field.startsWith('/') ? field : `/${dotted.split('.').join('/')}`;
  for (;;) {
    const hit = lines[pointer];
    if (hit !== undefined) return hit;
    const cut = pointer.lastIndexOf('/');
    if (cut <= 0) return loc.line;
    pointer = pointer.slice(0, cut);
  }
}
