/**
 * Regular-expression compilation for the snapshot: full-match anchoring and RE2-style rewrite
 * substitutions. Compile time only; the request path runs the RegExp objects built here.
 *
 * Invariants:
 * - Every match regex is anchored as `^(?:source)$` (RE2 FullMatch, as Envoy's `safe_regex` does
 *   for route, header and query matchers). Match regexes never carry the `g`/`y` flag, so `test()`
 *   keeps no state between requests.
 * - Substitution regexes carry `g`: Envoy's `regex_rewrite` uses RE2 `GlobalReplace`, which
 *   replaces every non-overlapping match, not only the first.
 * - A source that JavaScript cannot compile throws a `GatewayError` (GW_ERR_CONFIG_LOAD); the caller
 *   (compile.ts) catches it per route, so one bad route never fails the whole snapshot.
 *
 * Known gap: the IR validates regexes, but JavaScript and RE2 syntax differ at the edges (RE2 has
 * no look-around or back-references; JavaScript has no `\C`, `(?P<name>…)` before ES2025, `\pN`…).
 */
import { GatewayError } from '../errors/gateway-error.js';

export function compileFullMatch(source: string): RegExp {
  return build(`^(?:${source})$`, '', source);
}

/** A function that replaces every match of `pattern` in its input with `substitution`. */
export type Substituter = (input: string) => string;

/**
 * Compiles an RE2 rewrite string (`\0`–`\9` are capture references, `\\` is a backslash) into a
 * global substitution. Anything else after a backslash is kept literally (RE2 would reject it).
 * A reference to a group the pattern does not have becomes the empty string.
 */
export function compileSubstitution(pattern: string, substitution: string): Substituter {
  const re = build(pattern, 'g', pattern);
  const groups = countGroups(pattern);
  // Parse into literal text and group references once.
  const parts: (string | number)[] = [];
  let lit = '';
  for (let i = 0; i < substitution.length; i++) {
    const ch = substitution[i];
    if (ch === '\\' && i + 1 < substitution.length) {
      const next = substitution[i + 1];
      if (next >= '0' && next <= '9') {
        if (lit !== '') parts.push(lit);
        lit = '';
        parts.push(next.charCodeAt(0) - 48);
        i++;
        continue;
      }
      if (next === '\\') {
        lit += '\\';
        i++;
        continue;
      }
    }
    lit += ch;
  }
  if (lit !== '') parts.push(lit);

  // Prefer a native replacement string ($1, $&, $$). It is ambiguous only when a reference is
  // followed by a digit and the pattern has ten or more groups ($10 would mean group 10); then a
  // callback is used instead.
  let native = '';
  let ambiguous = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (typeof p === 'string') {
      native += p.replaceAll('$', '$$$$');
      continue;
    }
    if (p === 0) native += '$&';
    else if (p > groups) native += '';
    else {
      native += '$' + p;
      const after = parts[i + 1];
      if (groups >= 10 && typeof after === 'string' && after[0] >= '0' && after[0] <= '9') ambiguous = true;
    }
  }
  if (!ambiguous) return (input) => input.replace(re, native);
  return (input) =>
    input.replace(re, (...args: unknown[]) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        if (typeof p === 'string') out += p;
        else if (p <= groups) out += (args[p] as string | undefined) ?? '';
      }
      return out;
    });
}

function countGroups(pattern: string): number {
  // An alternation with the empty string always matches ''; the result's length is groups + 1.
  const m = new RegExp(`${pattern}|`).exec('');
  return m === null ? 0 : m.length - 1;
}

function build(source: string, flags: string, original: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (cause) {
    throw new GatewayError('GW_ERR_CONFIG_LOAD', {
      message: `invalid regular expression ${JSON.stringify(original)}: ${(cause as Error).message}`,
      cause,
    });
  }
}
