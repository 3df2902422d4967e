/**
 * Mapping and Module specs of every accepted apiVersion → the v3alpha1 shape (`MappingSpec`,
 * `ModuleSpec`), following Emissary's v2→v3alpha1 conversion (§1.2 of the compatibility reference).
 * Called by `resources/build.ts`: `prepareSpec` before validation, `convert*` after it, so the
 * converters may rely on the version schema having passed. Pure; returns fresh objects and never
 * modifies the input (the file source keeps inputs as "last good" objects).
 */
import type { MappingSpec } from '../schemas/getambassador.io/mapping.js';
import type { MappingV0Spec, MappingV2Spec } from '../schemas/getambassador.io/mapping-v2.js';
import type { ModuleSpec } from '../schemas/getambassador.io/module.js';
import { type Condition, Reason } from '../types.js';

type Spec = Record<string, unknown>;

function note(field: string, message: string): Condition {
  return { reason: Reason.Ignored, field: `spec.${field}`, message, critical: false };
}

/** Fields Emissary's schemas carry but no code of Emissary reads: dropped with a note. */
const kInert: Readonly<Record<string, string>> = {
  modules: 'has no effect (Emissary never read it either); ignored',
  envoy_override: 'has no effect (Emissary never read it either); ignored',
  outlier_detection: 'is not supported (Emissary reports it as an error too); ignored',
};

/** Round-trip helpers Emissary's conversion webhook writes into stored v3alpha1 objects. */
const kWebhookHelpers = ['v2ExplicitTLS', 'v2BoolHeaders', 'v2BoolQueryParameters'];

/**
 * Before validation, for every version: `ambassadorId` read as `ambassador_id`, inert fields
 * dropped (with a note). Returns the input itself when nothing changes.
 */
export function prepareSpec(
  kind: string,
  version: string,
  spec: unknown,
): { spec: unknown; notes: Condition[] } {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return { spec, notes: [] };
  const src = spec as Spec;
  const notes: Condition[] = [];
  const dropped = new Set<string>();
  if ('ambassadorId' in src) {
    dropped.add('ambassadorId');
    if ('ambassador_id' in src) {
      notes.push(note('ambassadorId', 'both ambassador_id and ambassadorId are set; ambassadorId ignored'));
    }
  }
  if (kind === 'Mapping') {
    for (const k of Object.keys(kInert)) {
      if (k in src) {
        dropped.add(k);
        notes.push(note(k, kInert[k]));
      }
    }
    if (version === 'v3alpha1') {
      for (const k of kWebhookHelpers) {
        if (k in src) {
          dropped.add(k);
          notes.push(note(k, 'is an internal field of the Emissary conversion webhook; ignored'));
        }
      }
    }
  }
  if (dropped.size === 0) return { spec, notes };
  const out: Spec = {};
  for (const k of Object.keys(src)) {
    if (k === 'ambassadorId' && !('ambassador_id' in src)) out['ambassador_id'] = src[k];
    else if (!dropped.has(k)) out[k] = src[k];
  }
  return { spec: out, notes };
}

const asList = (v: string | string[]): string[] => (typeof v === 'string' ? [v] : v);

/** `"a, b,c"` → `["a","b","c"]` (empty entries dropped); lists stay as they are. */
const commaList = (v: string | string[]): string[] =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : v;

/** getambassador.io/v2 and v1 (already validated against `MappingV2Spec`) → v3alpha1. */
export function convertMappingV2(spec: MappingV2Spec): { spec: MappingSpec; notes: Condition[] } {
  const notes: Condition[] = [];
  const out: Spec = {};
  let service = spec.service;
  for (const key of Object.keys(spec) as (keyof MappingV2Spec)[]) {
    const v = spec[key];
    if (v === undefined) continue;
    switch (key) {
      case 'ambassador_id':
        out['ambassador_id'] = asList(v as string | string[]);
        break;
      case 'tls':
        if (typeof v === 'string') out['tls'] = v;
        else if (v === true) {
          if (service.startsWith('http://')) {
            service = `https://${service.slice('http://'.length)}`;
            notes.push(note('tls', 'tls: true overrides the http:// scheme in service; TLS is originated'));
          } else if (!service.startsWith('https://')) service = `https://${service}`;
        }
        break;
      case 'headers':
      case 'query_parameters': {
        const exact: Record<string, string> = {};
        const present: Record<string, string> = {};
        let nExact = 0;
        let nPresent = 0;
        for (const [name, value] of Object.entries(v as Record<string, string | true>)) {
          if (value === true) {
            present[name] = '.*';
            nPresent++;
          } else {
            exact[name] = value;
            nExact++;
          }
        }
        if (nExact > 0) out[key] = exact;
        if (nPresent > 0) {
          const target = key === 'headers' ? 'regex_headers' : 'regex_query_parameters';
          const explicit = (spec[target] as Record<string, string> | undefined) ?? {};
          out[target] = { ...present, ...explicit, ...((out[target] as Spec | undefined) ?? {}) };
        }
        break;
      }
      case 'regex_headers':
      case 'regex_query_parameters':
        out[key] = { ...((out[key] as Spec | undefined) ?? {}), ...(v as Spec) };
        break;
      case 'cors': {
        const c = v as NonNullable<MappingV2Spec['cors']>;
        const cors: Spec = {};
        for (const [ck, cv] of Object.entries(c)) {
          if (cv === undefined) continue;
          cors[ck] =
            ck === 'origins' || ck === 'methods' || ck === 'headers' || ck === 'exposed_headers'
              ? commaList(cv as string | string[])
              : cv;
        }
        out['cors'] = cors;
        break;
      }
      case 'add_request_headers':
      case 'add_response_headers': {
        const headers: Record<string, { value: string; append?: boolean }> = {};
        for (const [name, hv] of Object.entries(
          v as Record<string, string | { value: string; append?: boolean }>,
        )) {
          headers[name] = typeof hv === 'string' ? { value: hv } : hv;
        }
        out[key] = headers;
        break;
      }
      case 'remove_request_headers':
      case 'remove_response_headers':
        out[key] = asList(v as string | string[]);
        break;
      case 'v3StatsName':
        out['stats_name'] = v;
        break;
      case 'v3health_checks':
        out['health_checks'] = v;
        break;
      case 'service':
        break;
      default:
        out[key] = v;
    }
  }
  out['service'] = service;
  // A v2 Mapping without `host` applies to every host (Emissary's conversion sets hostname "*").
  if (spec.host === undefined) out['hostname'] = '*';
  return { spec: out as MappingSpec, notes };
}

/** `ambassador/v0` (validated against `MappingV0Spec`) → v3alpha1, through the v2 rules. */
export function convertMappingV0(spec: MappingV0Spec): { spec: MappingSpec; notes: Condition[] } {
  const { rate_limits: rateLimits, circuit_breaker: breaker, ...rest } = spec;
  const notes: Condition[] = [];
  if (rateLimits !== undefined) {
    notes.push(note('rate_limits', 'rate limiting is not served yet; rate_limits (ambassador/v0) ignored'));
  }
  const v2: MappingV2Spec = { ...rest };
  if (breaker !== undefined) {
    if (v2.circuit_breakers === undefined) v2.circuit_breakers = [breaker];
    else
      notes.push(
        note('circuit_breaker', 'circuit_breakers is also set; the singular circuit_breaker is ignored'),
      );
  }
  const converted = convertMappingV2(v2);
  return { spec: converted.spec, notes: [...notes, ...converted.notes] };
}

/** Any Module version (validated) → v3alpha1: `ambassador_id` becomes a list. */
export function convertModule(spec: { ambassador_id?: string | string[]; config?: unknown }): ModuleSpec {
  const out: Spec = { ...spec };
  if (typeof spec.ambassador_id === 'string') out['ambassador_id'] = [spec.ambassador_id];
  return out as ModuleSpec;
}
