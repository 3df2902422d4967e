/**
 * A readable view of the route table in evaluation order, shared by `legate routes` and /diag.
 * Pure: derived from the IR, never from the compiled snapshot.
 */
import type { Ir, IrCluster, IrHostMatch, IrRoute, IrValueMatch } from '../../ir/types.js';

export interface RouteRow {
  readonly order: number;
  readonly id: string;
  readonly precedence: number;
  readonly host: string;
  readonly method: string;
  /** `/foo/` prefix, `= /foo` exact, `~ ^/foo$` regex; `(i)` marks case-insensitive. */
  readonly path: string;
  readonly headers: readonly string[];
  readonly query: readonly string[];
  readonly action: string;
  readonly targets: readonly { service: string; cluster: string; weight: number; mapping: string }[];
  readonly shadow: { service: string; percent: number } | null;
  readonly sources: readonly string[];
}

export function hostLabel(h: IrHostMatch): string {
  switch (h.kind) {
    case 'any':
      return '*';
    case 'exact':
      return h.value;
    case 'suffix':
      return `*${h.value}`;
    case 'prefix':
      return `${h.value}*`;
    case 'regex':
      return `~${h.value}`;
  }
}

function valueLabel(m: IrValueMatch): string {
  if (m.kind === 'present') return `${m.name} present`;
  return m.kind === 'regex' ? `${m.name} ~ ${m.value}` : `${m.name} = ${m.value}`;
}

function pathLabel(r: IrRoute): string {
  const p = r.match.path;
  const base = p.kind === 'prefix' ? p.value : p.kind === 'exact' ? `= ${p.value}` : `~ ${p.value}`;
  return p.caseSensitive ? base : `${base} (i)`;
}

export function describeRoutes(ir: Ir): RouteRow[] {
  const clusters = new Map<string, IrCluster>();
  for (const c of ir.clusters) clusters.set(c.id, c);
  return ir.routes.map((r) => {
    const m = r.match;
    const targets = r.targets.map((t) => ({
      service: clusters.get(t.cluster)?.service ?? t.cluster,
      cluster: t.cluster,
      weight: t.weight,
      mapping: t.mapping,
    }));
    let action = 'proxy';
    if (r.redirect) action = `redirect ${r.redirect.code}`;
    return {
      order: r.order,
      id: r.id,
      precedence: r.precedence,
      host: hostLabel(m.host),
      method: m.method ? (m.method.regex ? `~${m.method.value}` : m.method.value) : '*',
      path: pathLabel(r),
      headers: m.headers.map(valueLabel),
      query: m.query.map(valueLabel),
      action,
      targets,
      shadow: r.shadow
        ? { service: clusters.get(r.shadow.cluster)?.service ?? r.shadow.cluster, percent: r.shadow.percent }
        : null,
      sources: r.sources,
    };
  });
}

/** Fixed-width text table for terminals. */
export function formatRouteTable(rows: readonly RouteRow[]): string {
  const header = ['#', 'HOST', 'METHOD', 'PATH', 'CONDITIONS', 'ACTION', 'TARGETS'];
  const lines = rows.map((r) => [
    String(r.order),
    r.host,
    r.method,
    r.path,
    [...r.headers, ...r.query.map((q) => `?${q}`), r.precedence ? `precedence=${r.precedence}` : '']
      .filter(Boolean)
      .join(', ') || '-',
    r.action,
    r.targets.map((t) => (r.targets.length > 1 ? `${t.service} ${t.weight}%` : t.service)).join(', ') +
      (r.shadow ? ` (shadow ${r.shadow.service} ${r.shadow.percent}%)` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) =>
    cols
      .map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...lines.map(fmt)].join('\n');
}
