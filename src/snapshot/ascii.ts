/**
 * ASCII-only case folding for case-insensitive path matching.
 *
 * Envoy compares case-insensitive prefixes and paths with ASCII folding (`absl::StartsWithIgnoreCase`),
 * so Legate does too. Unlike `String.prototype.toLowerCase`, this never changes the string's length
 * (`'İ'.toLowerCase()` is two code units), which the prefix rewrite relies on: the matched part of a
 * case-insensitive prefix is always the path's own first `prefix.length` characters.
 *
 * Used at compile time and, once per request at most, by the route table.
 */

/** Returns `s` itself (no allocation) when it holds no ASCII upper-case letter. */
export function asciiLower(s: string): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}
