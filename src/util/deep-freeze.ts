/**
 * deepFreeze: freezes a value and everything reachable from it, for tests and development builds,
 * so that a stage that mutates shared, immutable data (a snapshot, an IR) fails loudly.
 *
 * Called by `snapshot/compile.ts` when freezing is on; never on the request path.
 *
 * Contract:
 * - Objects, arrays and functions are frozen; Map and Set instances are frozen themselves and their
 *   keys/values are walked (freezing a Map does not stop `set()`: its entries stay replaceable, a
 *   known limit of the language).
 * - RegExp instances are skipped on purpose: a frozen global or sticky RegExp throws on `replace`
 *   and `exec` because the engine must write `lastIndex`.
 * - Typed arrays and ArrayBuffers are skipped (they cannot be frozen while they hold elements).
 * - Only own enumerable properties are walked (`Object.values`), so a getter is invoked once and
 *   symbol-keyed or non-enumerable properties are frozen shallowly but not walked.
 * - Cycles are safe: an already-frozen object is not walked again.
 * Returns its argument.
 */
export function deepFreeze<T>(value: T): T {
  walk(value);
  return value;
}

function walk(value: unknown): void {
  if (value === null) return;
  const type = typeof value;
  if (type !== 'object' && type !== 'function') return;
  if (Object.isFrozen(value)) return;
  if (value instanceof RegExp || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  Object.freeze(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      walk(k);
      walk(v);
    }
  } else if (value instanceof Set) {
    for (const v of value) walk(v);
  }
  if (type === 'function') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i]);
    return;
  }
  // Own enumerable data: plain configuration data has no getters or symbol keys. Object.values is
  // several times faster than walking property descriptors on large snapshots.
  const values = Object.values(value as object);
  for (let i = 0; i < values.length; i++) walk(values[i]);
}
