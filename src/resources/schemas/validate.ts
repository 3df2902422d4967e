/**
 * Runtime validation against the TypeBox schemas, turned into `Condition`s an operator can act on:
 * a dotted `field` as written (`spec.headers.x-foo`) and a plain message (`must be an integer
 * between 0 and 100`, `unknown field "prefx" (did you mean "prefix"?)`, `required field "service" is
 * missing`). Called by `resources/build.ts` for every object; never throws.
 *
 * Checkers are compiled once per schema (TypeCompiler) and cached: validating 10,000 Mappings costs a
 * few milliseconds. Errors are only enumerated when the fast check fails.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { type Condition, Reason } from '../types.js';

/** At most this many conditions per object; the rest are summarised in one line. */
const kMaxConditions = 20;

const kCache = new WeakMap<TSchema, TypeCheck<TSchema>>();

export function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let c = kCache.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    kCache.set(schema, c);
  }
  return c;
}

/**
 * Validates `value` against `schema`. `base` is the dotted path of `value` inside the object
 * (`spec`). Returns no conditions when valid.
 */
export function validateValue(schema: TSchema, value: unknown, base: string): Condition[] {
  const checker = checkerFor(schema);
  if (checker.Check(value)) return [];
  const out: Condition[] = [];
  const seen = new Set<string>();
  let extra = 0;
  for (const e of checker.Errors(value)) {
    if (seen.has(e.path)) continue;
    // A failure inside something already reported (or its parent) adds nothing.
    let covered = false;
    for (const p of seen) {
      if (p === '' || e.path.startsWith(`${p}/`)) {
        covered = true;
        break;
      }
    }
    if (covered) continue;
    seen.add(e.path);
    if (out.length >= kMaxConditions) {
      extra++;
      continue;
    }
    const segments = e.path === '' ? [] : e.path.slice(1).split('/').map(unescapeSegment);
    const field = [base, ...segments].filter((s) => s !== '').join('.');
    const last = segments[segments.length - 1] ?? base;
    switch (e.type) {
      case ValueErrorType.ObjectAdditionalProperties: {
        const parent = (e.schema as { properties?: Record<string, unknown> }).properties;
        const hint = parent ? closest(last, Object.keys(parent)) : undefined;
        out.push({
          reason: Reason.UnknownField,
          field,
          critical: true,
          message: `unknown field "${last}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
        });
        break;
      }
      case ValueErrorType.ObjectRequiredProperty:
        out.push({
          reason: Reason.MissingField,
          field,
          critical: true,
          message: `required field "${last}" is missing`,
        });
        break;
      default:
        out.push({
          reason: Reason.InvalidField,
          field,
          critical: true,
          message: `must be ${describeSchema(e.schema)} (got ${preview(e.value)})`,
        });
    }
  }
  if (extra > 0) {
    out.push({
      reason: Reason.InvalidField,
      field: base,
      critical: true,
      message: `${extra} more problem${extra === 1 ? '' : 's'} not shown`,
    });
  }
  if (out.length === 0) {
    // The checker failed but enumerated nothing (should not happen): still reject, clearly.
    out.push({ reason: Reason.InvalidField, field: base, critical: true, message: 'is not valid' });
  }
  return out;
}

function unescapeSegment(s: string): string {
  return s.indexOf('~') < 0 ? s : s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Human description of what a schema accepts: "an integer between 0 and 100". */
export function describeSchema(schema: TSchema): string {
  const s = schema as Record<string | symbol, unknown> & TSchema;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf)) {
    const parts = s.anyOf as TSchema[];
    if (parts.every((p) => (p as { const?: unknown }).const !== undefined)) {
      return `one of ${parts.map((p) => JSON.stringify((p as { const?: unknown }).const)).join(', ')}`;
    }
    return parts.map(describeSchema).join(' or ');
  }
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  switch (s.type) {
    case 'integer':
    case 'number': {
      const noun = s.type === 'integer' ? 'an integer' : 'a number';
      if (min !== undefined && max !== undefined) return `${noun} between ${min} and ${max}`;
      if (min !== undefined)
        return min === 0 ? `a non-negative ${noun.slice(noun.indexOf(' ') + 1)}` : `${noun} ≥ ${min}`;
      if (max !== undefined) return `${noun} ≤ ${max}`;
      return noun;
    }
    case 'string':
      return (s.minLength as number | undefined) ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array': {
      const items = s.items as TSchema | undefined;
      return items && (items as { type?: string }).type === 'string' ? 'a list of strings' : 'a list';
    }
    case 'object':
      return s[Kind] === 'Record' ? 'a map' : 'a mapping';
    default:
      return 'a valid value';
  }
}

function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Nearest known name within edit distance 2 (for "did you mean"), or undefined. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    if (Math.abs(c.length - name.length) >= bestD) continue;
    const d = editDistance(name, c, bestD);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1);
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length];
}
