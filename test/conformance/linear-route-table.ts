/**
 * The reference route table: a plain first-match scan over every route in `order`, written
 * independently of `src/snapshot/route-table.ts` (no shared helpers) so the conformance suite can
 * compare the two. Test support only; it builds RegExps lazily and scans linearly on purpose.
 */
import type { IrMatch, IrValueMatch } from '../../src/ir/types.js';
import type { CompiledRoute, MatchRequest, RouteTable } from '../../src/snapshot/types.js';

export class LinearRouteTable implements RouteTable {
  readonly size: number;
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly CompiledRoute[]) {
    this.#routes = [...routes].sort((a, b) => a.order - b.order);
    this.size = routes.length;
  }

  match(req: MatchRequest): CompiledRoute | null {
    for (const route of this.#routes) {
      if (matches(route.ir.match, req)) return route;
    }
    return null;
  }
}

function full(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

function lowerAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function matches(m: IrMatch, req: MatchRequest): boolean {
  // Host.
  const h = m.host;
  if (h.kind === 'exact' && req.host !== h.value) return false;
  if (h.kind === 'suffix' && !req.host.endsWith(h.value)) return false;
  if (h.kind === 'prefix' && !req.host.startsWith(h.value)) return false;
  if (h.kind === 'regex' && !full(h.value).test(req.authority)) return false;
  // Path.
  const p = m.path;
  if (p.kind === 'regex') {
    if (!full(p.value).test(req.path)) return false;
  } else if (p.kind === 'exact') {
    if (p.caseSensitive ? req.path !== p.value : lowerAscii(req.path) !== lowerAscii(p.value)) return false;
  } else {
    const head = req.path.slice(0, p.value.length);
    if (p.caseSensitive ? head !== p.value : lowerAscii(head) !== lowerAscii(p.value)) return false;
    if (head.length < p.value.length) return false;
  }
  // Method.
  if (m.method !== undefined) {
    if (m.method.regex ? !full(m.method.value).test(req.method) : req.method !== m.method.value) return false;
  }
  // Headers.
  for (const hm of m.headers) {
    let v: string | undefined;
    if (hm.name === ':authority') v = req.authority;
    else if (hm.name === ':method') v = req.method;
    else if (hm.name === ':path') v = req.query ? `${req.path}?${req.query}` : req.path;
    else {
      const raw = req.headers[hm.name];
      v = Array.isArray(raw) ? raw.join(',') : raw;
    }
    if (!valueMatches(hm, v)) return false;
  }
  // Query: first value per name, no decoding.
  if (m.query.length > 0) {
    const params: [string, string][] = req.query
      .split('&')
      .filter((part) => part !== '')
      .map((part) => {
        const eq = part.indexOf('=');
        return eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
      });
    for (const qm of m.query) {
      const first = params.find(([name]) => name === qm.name);
      if (!valueMatches(qm, first?.[1])) return false;
    }
  }
  return true;
}

function valueMatches(m: IrValueMatch, v: string | undefined): boolean {
  if (v === undefined) return false;
  if (m.kind === 'present') return true;
  if (m.kind === 'exact') return v === m.value;
  return full(m.value).test(v);
}
