/**
 * Request-target handling for the stream: split the target into path and query, and normalise the
 * path the way Envoy's HTTP connection manager does before routing (`normalize_path`,
 * `merge_slashes`, `path_with_escaped_slashes_action: REJECT_REQUEST`).
 *
 * Called once per request by `exchange.ts`. Pure functions; the common case (a clean path) returns
 * the input string itself and allocates nothing.
 *
 * Normalisation (Envoy's `canonicalPath`, which follows Chromium's path canonicaliser and RFC 3986):
 * - percent-escapes of unreserved characters (ALPHA / DIGIT / - . _ ~) are decoded; every other escape
 *   is kept exactly as sent (so `%2F` stays an escaped slash and never becomes a separator);
 * - `\` is a separator, as it is for browsers;
 * - bytes outside the printable ASCII range are percent-encoded;
 * - dot segments (`.`, `..`, also when written `%2e`) are removed per RFC 3986 §5.2.4; `..` never climbs
 *   above the root.
 * The result is what the route table matches AND what is sent upstream (Envoy rewrites `:path`), so a
 * client cannot reach a route through an encoding the route table did not see.
 */

/** The IrSettings fields that shape path handling (an IrSettings object can be passed as is). */
export interface PathOptions {
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly rejectRequestsWithEscapedSlashes: boolean;
}

/** Returned when the path must be refused with 400. */
export const PATH_REJECTED = null;

const CH_PERCENT = 0x25;
const CH_SLASH = 0x2f;
const CH_BACKSLASH = 0x5c;
const CH_DOT = 0x2e;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === CH_DOT ||
    c === 0x5f ||
    c === 0x7e
  );
}

const HEX = '0123456789ABCDEF';

/** True when the path holds `%2F` or `%5C` in any letter case. */
export function hasEscapedSlash(path: string): boolean {
  let i = path.indexOf('%');
  while (i !== -1 && i + 2 < path.length) {
    const a = path.charCodeAt(i + 1);
    const b = path.charCodeAt(i + 2) | 0x20;
    if ((a === 0x32 && b === 0x66) || (a === 0x35 && b === 0x63)) return true;
    i = path.indexOf('%', i + 1);
  }
  return false;
}

/** Whether `path` may need work; false means it is already canonical (no allocation taken). */
function needsWork(path: string, mergeSlashes: boolean): boolean {
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === CH_PERCENT || c === CH_BACKSLASH || c <= 0x20 || c >= 0x7f) return true;
    if (c === CH_DOT && prev === CH_SLASH) return true;
    if (c === CH_SLASH && prev === CH_SLASH && mergeSlashes) return true;
    prev = c;
  }
  return false;
}

function decodeAndEscape(path: string): string {
  let out = '';
  let start = 0;
  const len = path.length;
  for (let i = 0; i < len; i++) {
    const c = path.charCodeAt(i);
    if (c === CH_PERCENT) {
      if (i + 2 < len) {
        const hi = hexValue(path.charCodeAt(i + 1));
        const lo = hexValue(path.charCodeAt(i + 2));
        if (hi >= 0 && lo >= 0) {
          const v = hi * 16 + lo;
          if (isUnreserved(v)) {
            out += path.slice(start, i) + String.fromCharCode(v);
            start = i + 3;
          }
          i += 2;
        }
      }
    } else if (c === CH_BACKSLASH) {
      out += path.slice(start, i) + '/';
      start = i + 1;
    } else if (c <= 0x20 || c >= 0x7f) {
      // The request line reaches us latin1-decoded: each char is one byte.
      out += path.slice(start, i) + '%' + HEX[(c >> 4) & 0xf] + HEX[c & 0xf];
      start = i + 1;
    }
  }
  return start === 0 ? path : out + path.slice(start);
}

/** RFC 3986 §5.2.4 for an absolute path (starts with '/'). */
export function removeDotSegments(path: string): string {
  const segs = path.split('/');
  const out: string[] = [];
  const last = segs.length - 1;
  for (let i = 1; i <= last; i++) {
    const s = segs[i];
    if (s === '.') {
      if (i === last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === last) out.push('');
    } else {
      out.push(s);
    }
  }
  return '/' + out.join('/');
}

export function mergeSlashes(path: string): string {
  if (path.indexOf('//') === -1) return path;
  let out = '';
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === CH_SLASH && prev === CH_SLASH) continue;
    out += path[i];
    prev = c;
  }
  return out;
}

/**
 * Normalises an origin-form path (no query). Returns PATH_REJECTED (null) when the request must be
 * refused with 400: an escaped slash under `reject_requests_with_escaped_slashes`, or a path that
 * does not start with '/'.
 */
export function normalizeRequestPath(path: string, opts: PathOptions): string | null {
  if (path.charCodeAt(0) !== CH_SLASH) return PATH_REJECTED;
  if (opts.rejectRequestsWithEscapedSlashes && hasEscapedSlash(path)) return PATH_REJECTED;
  if (!needsWork(path, opts.mergeSlashes)) return path;
  let p = path;
  if (opts.normalizePath) {
    p = decodeAndEscape(p);
    if (p.indexOf('/.') !== -1) p = removeDotSegments(p);
  }
  if (opts.mergeSlashes) p = mergeSlashes(p);
  return p;
}

/**
 * Splits a request target as node:http presents it (`req.url`) into path and query. Origin form
 * (`/a?b`) is the norm; absolute form (`http://host/a?b`) yields its path, and its authority through
 * `authorityOf`. A fragment, which clients should not send, is dropped. Returns null for targets that
 * are neither (`*`, garbage).
 */
export function splitTarget(url: string): { path: string; query: string; authority: string | null } | null {
  let authority: string | null = null;
  let rest = url;
  if (url.charCodeAt(0) !== CH_SLASH) {
    const m = /^https?:\/\/([^/?#]*)/i.exec(url);
    if (m === null) return null;
    authority = m[1];
    rest = url.slice(m[0].length);
    if (rest === '' || rest.charCodeAt(0) !== CH_SLASH) rest = '/' + rest;
  }
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q === -1) return { path: rest, query: '', authority };
  return { path: rest.slice(0, q), query: rest.slice(q + 1), authority };
}

/**
 * Host for matching: the authority lower-cased without its port (`[v6]` literals keep brackets).
 * Returns the input itself when already in that form.
 */
export function hostOf(authority: string): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 0x5b) {
    const close = authority.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  const h = end === authority.length ? authority : authority.slice(0, end);
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return h.toLowerCase();
  }
  return h;
}
