/**
 * Wire checks: configuration text that the data plane writes verbatim into an HTTP/1.1 head.
 *
 * Called by the Mapping and Module processors while the IR is built. The upstream client writes the
 * request head as one latin1 string and checks nothing per header, and redirect and `server`
 * headers go to the client as configured, so everything configuration contributes to a head is
 * proven sendable here, once. Pure functions: each returns null when the text is fine, else one
 * sentence saying what is wrong and where (code point and offset), which the caller prefixes with
 * the field (`add_request_headers.x-bad: value contains a control character (U+000A at offset 3)`).
 *
 * Rules (RFC 9110 §5.1, §5.5; RFC 9112 §3.2):
 * - header name: a non-empty token (tchar only);
 * - header value: no control character except HTAB (0x00–0x08, 0x0A–0x1F, 0x7F), and nothing above
 *   U+00FF, which latin1 cannot carry (it would be cut to its low byte: U+010A becomes LF);
 * - added header names that carry message framing or connection management, which Legate itself
 *   owns (Content-Length, Transfer-Encoding, Connection…), and Host in a request (`host_rewrite`
 *   sets it; Envoy refuses Host in `request_headers_to_add` likewise);
 * - request-target text (`rewrite`, `regex_rewrite.substitution`, redirect paths): no whitespace,
 *   no control character, ASCII only (a URI is ASCII; percent-encode anything else);
 * - `host_rewrite`: non-empty, request-target rules, and none of `/ ? # @` (host[:port] only).
 *
 * Messages quote names that are not tokens with every non-printable character escaped, so a
 * finding never puts a raw CR or NUL into `legate validate` output or a Kubernetes status.
 */

import { isToken, TCHAR } from '../../util/http-token.js';

/** Names an added header may not have, in either direction: framing and hop-by-hop (RFC 9110 §7.6.1). */
const kOwnedNames: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export type HeaderDirection = 'request' | 'response';

/** `U+000A`: how findings name a character. */
function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

function isControl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}

/**
 * Quotes text for a message: double quotes, with `"`, `\` and every character outside printable
 * ASCII escaped (`\n`, `\u0000`, `\u20ac`).
 */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

/**
 * `add_request_headers` + name → `add_request_headers.x-a`, or `add_request_headers["x a"]` when
 * the name is not a token (so field paths and messages stay printable and unambiguous).
 */
export function fieldPath(parent: string, name: string): string {
  return isToken(name) ? `${parent}.${name}` : `${parent}[${quote(name)}]`;
}

export function headerNameError(name: string): string | null {
  if (name.length === 0) return 'header name is empty';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 128 && TCHAR[c] === 1) continue;
    const shown = c > 0x20 && c < 0x7f ? `"${name[i]}" (${codePoint(c)})` : codePoint(c);
    return `header name contains ${shown} at offset ${i}, which an RFC 9110 token does not allow`;
  }
  return null;
}

/** A header name that `add_*_headers` may not set, with the reason; null when it may. */
export function addedNameError(name: string, direction: HeaderDirection): string | null {
  const lower = name.toLowerCase();
  if (direction === 'request' && lower === 'host')
    return 'Host cannot be added; set host_rewrite to change the Host sent upstream';
  if (kOwnedNames.has(lower))
    return `${lower} is message framing or connection management, which Legate sets itself; it cannot be added`;
  return null;
}

export function headerValueError(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff)) continue;
    if (c <= 0xff) return `value contains a control character (${codePoint(c)} at offset ${i})`;
    return `value contains ${codePoint(c)} at offset ${i}, beyond U+00FF, which an HTTP/1.1 header cannot carry`;
  }
  return null;
}

/** Text that becomes part of a request target or a Location: printable ASCII without spaces. */
export function targetTextError(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) continue;
    if (c === 0x20) return `contains a space at offset ${i} (percent-encode it as %20)`;
    if (isControl(c)) return `contains a control character (${codePoint(c)} at offset ${i})`;
    // Whitespace beyond ASCII (U+00A0, U+2028…) is non-ASCII too; one message covers both.
    return `contains a non-ASCII character (${codePoint(c)} at offset ${i}); a request target is ASCII, percent-encode it`;
  }
  return null;
}

export function hostRewriteError(host: string): string | null {
  if (host.length === 0) return "is empty; leave it unset to keep the client's Host";
  const text = targetTextError(host);
  if (text !== null) return text;
  for (let i = 0; i < host.length; i++) {
    const ch = host[i];
    if (ch === '/' || ch === '?' || ch === '#' || ch === '@')
      return `contains "${ch}" at offset ${i}; it must be host[:port], with no path, query, fragment or user info`;
  }
  return null;
}

/** One finding of `headerAddErrors`/`headerRemoveErrors`: the field path below the caller's root. */
export interface WireFinding {
  readonly field: string;
  readonly message: string;
}

/**
 * Every problem of one `add_*_headers` map, in key order. `field` is e.g. `add_request_headers`;
 * each finding's field is `add_request_headers.<name>` and its message starts with that field.
 */
export function headerAddErrors(
  field: string,
  adds: Readonly<Record<string, { readonly value: string }>>,
  direction: HeaderDirection,
): WireFinding[] {
  const out: WireFinding[] = [];
  for (const [name, h] of Object.entries(adds)) {
    const f = fieldPath(field, name);
    const err = headerNameError(name) ?? addedNameError(name, direction) ?? headerValueError(h.value);
    if (err !== null) out.push({ field: f, message: `${f}: ${err}` });
  }
  return out;
}

/** Every problem of one `remove_*_headers` list; the field is `remove_request_headers[<index>]`. */
export function headerRemoveErrors(field: string, names: readonly string[]): WireFinding[] {
  const out: WireFinding[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = headerNameError(names[i]);
    if (err !== null) {
      const f = `${field}[${i}]`;
      out.push({ field: f, message: `${f} ${quote(names[i])}: ${err}` });
    }
  }
  return out;
}
