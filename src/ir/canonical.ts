/**
 * Canonical JSON and hashing for the IR stage.
 *
 * Owns: a key-sorted JSON encoding (equal data → equal bytes, whatever the key insertion order)
 * and short sha256 digests over it. Used by `build.ts` for `Ir.hash`, by the mapping processor for
 * group ids and by the service processor for cluster ids. Pure; never throws on plain JSON data
 * (functions and undefined values are dropped, as JSON.stringify does).
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level; `undefined` members are omitted. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function') continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + canonicalJson(v);
  }
  return out + '}';
}

/** Hex sha256 of a string; `length` hex characters when given. */
export function sha256Hex(text: string, length?: number): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return length === undefined ? hex : hex.slice(0, length);
}
