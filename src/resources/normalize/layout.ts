/**
 * Reading the outer shape of an object before its kind is known: apiVersion parsing (with the
 * legacy `ambassador/` prefix read as `getambassador.io/`), the flat Ambassador layout folded into
 * Kubernetes layout, and `ambassador_id` matching. Called by `resources/build.ts`; pure.
 */
import { pointerSegment } from '../yaml.js';

export interface ApiVersion {
  /** API group; '' for the core group (`v1`). */
  readonly group: string;
  readonly version: string;
}

/** `ambassador/v1` → getambassador.io v1; `discovery.k8s.io/v1` → that group; `v1` → core. */
export function parseApiVersion(apiVersion: string): ApiVersion {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return { group: '', version: apiVersion };
  const group = apiVersion.slice(0, slash);
  return {
    group: group === 'ambassador' ? 'getambassador.io' : group,
    version: apiVersion.slice(slash + 1),
  };
}

/** Flat-layout keys that are metadata rather than spec. */
const kFlatMeta: Readonly<Record<string, string>> = {
  name: '/metadata/name',
  namespace: '/metadata/namespace',
  generation: '/metadata/generation',
  metadata_labels: '/metadata/labels',
};

/** True for the flat Ambassador layout: no `metadata` and no `spec`, everything at the top. */
export function isFlatLayout(obj: Record<string, unknown>): boolean {
  return !('metadata' in obj) && !('spec' in obj);
}

/**
 * Flat layout → Kubernetes layout. `name`, `namespace`, `generation` go to `metadata`,
 * `metadata_labels` to `metadata.labels`, `apiVersion`/`kind` stay, the rest goes to `spec`.
 * Field lines are re-keyed the same way so errors still point at the written line.
 * Returns fresh objects; the input is not modified.
 */
export function foldFlat(
  obj: Record<string, unknown>,
  fieldLines: Readonly<Record<string, number>> | undefined,
): { object: Record<string, unknown>; fieldLines: Record<string, number> | undefined } {
  const metadata: Record<string, unknown> = {};
  const spec: Record<string, unknown> = {};
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (k === 'apiVersion' || k === 'kind') out[k] = v;
    else if (k === 'metadata_labels') metadata['labels'] = v;
    else if (k in kFlatMeta) metadata[k] = v;
    else spec[k] = v;
  }
  out['metadata'] = metadata;
  out['spec'] = spec;
  if (!fieldLines) return { object: out, fieldLines: undefined };
  const lines: Record<string, number> = {};
  for (const p of Object.keys(fieldLines)) {
    const cut = p.indexOf('/', 1);
    const head = cut < 0 ? p.slice(1) : p.slice(1, cut);
    const rest = cut < 0 ? '' : p.slice(cut);
    let to: string;
    if (head === 'apiVersion' || head === 'kind') to = p;
    else if (head in kFlatMeta) to = kFlatMeta[head] + rest;
    else to = `/spec/${head}${rest}`;
    lines[to] = fieldLines[p];
  }
  if (lines['/metadata'] === undefined && lines['/metadata/name'] !== undefined) {
    lines['/metadata'] = lines['/metadata/name'];
  }
  return { object: out, fieldLines: lines };
}

/**
 * `ambassador_id` (or its synonym `ambassadorId`) as a list. `undefined` when the value is
 * malformed: validation then rejects the object with a precise message.
 */
export function readAmbassadorId(spec: unknown): readonly string[] | undefined {
  if (typeof spec !== 'object' || spec === null) return ['default'];
  const s = spec as Record<string, unknown>;
  const raw = s['ambassador_id'] !== undefined ? s['ambassador_id'] : s['ambassadorId'];
  if (raw === undefined || raw === null) return ['default'];
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw as string[];
  return undefined;
}

/** Emissary's rule: the process id is in the list, or the list holds `_automatic_`. */
export function ambassadorIdMatches(ids: readonly string[], processId: string): boolean {
  return ids.includes(processId) || ids.includes('_automatic_');
}

/** JSON pointer of an annotation value (`/metadata/annotations/getambassador.io~1config`). */
export function annotationPointer(name: string): string {
  return `/metadata/annotations/${pointerSegment(name)}`;
}
