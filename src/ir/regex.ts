/**
 * The one place the IR decides how configuration regexes are checked.
 *
 * Emissary hands regexes to RE2. Legate evaluates them with JavaScript `RegExp`, so the IR checks
 * every regex compiles with the same flags the snapshot compiler must use: `IR_REGEX_FLAGS`.
 * Decision: no `u` flag. RE2 accepts escaped punctuation such as `\-` or `\:` outside a class,
 * which `u` mode rejects as a syntax error; without `u` the common RE2 patterns users already
 * have (Emissary docs and Ingress-generated host regexes) compile unchanged. The cost: `.` matches
 * UTF-16 code units rather than code points, which only matters for astral characters in paths.
 * RE2-only syntax (`(?P<name>…)`, `(?i)`) does not compile and is reported as `InvalidRegex`.
 */

/** Flags every IR regex is compiled with, here and in `snapshot/compile.ts`. */
export const IR_REGEX_FLAGS = '';

/**
 * null when `source` compiles both alone and in the full-match form `^(?:source)$` the snapshot
 * uses; otherwise the engine's message. Compiling it alone first guarantees balanced groups, so
 * the anchored form cannot be escaped (`a)|(b`). Never throws.
 */
export function regexError(source: string): string | null {
  try {
    new RegExp(source, IR_REGEX_FLAGS);
    new RegExp(`^(?:${source})$`, IR_REGEX_FLAGS);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
