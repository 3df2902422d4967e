/**
 * compileSnapshot: IR → immutable, compiled `Snapshot`.
 *
 * Called by the control loop after every IR build (and by `legate routes`); never on the request
 * path. Everything the request path needs is precomputed here (convention 5): full-match RegExps,
 * lower-cased header names, path rewriters, redirect Location builders, null for empty lists, and
 * the indexed route table.
 *
 * Invariants:
 * - Pure apart from building objects: does not mutate `ir` (it may freeze it, see `freeze`).
 * - Never throws for a bad route: a route whose regex JavaScript cannot compile is left out of
 *   `routes` and of the table, and reported through `onProblem` (the IR build validates regexes,
 *   so this is a last line of defence, not a path the IR relies on).
 * - `routes` is in evaluation order and `table.size === routes.length`.
 * - With `freeze` (default: on unless NODE_ENV is `production`) the snapshot's data is deep-frozen;
 *   the route table is an opaque class instance and is frozen shallowly. Deliberately off in
 *   production (the container image sets NODE_ENV=production): freezing walks every object of the
 *   snapshot and its IR, about 70 ms of a 10,000-Mapping reload (compile ~30 ms without it), and
 *   catches only programming errors, which tests and development runs (frozen) are there to find.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { Ir, IrHeaderAdd, IrRoute, IrSettings, IrShadow, IrTarget } from '../ir/types.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { compilePathRewrite, compileRedirect } from './rewrite.js';
import { compileRouteMatcher, IndexedRouteTable, type RouteMatcher } from './route-table.js';
import type { CompiledHeaderAdd, CompiledRoute, CompiledShadow, CompiledTarget, Snapshot } from './types.js';

/** A route left out of the snapshot, and why. */
export interface CompileProblem {
  readonly routeId: string;
  readonly order: number;
  /** Keys of the Mappings behind the route, so the problem can be attached to them. */
  readonly sources: readonly string[];
  readonly message: string;
}

export interface CompileOptions {
  /** Deep-freeze the result. Default: `process.env.NODE_ENV !== 'production'`. */
  readonly freeze?: boolean;
  readonly onProblem?: (problem: CompileProblem) => void;
}

export function compileSnapshot(ir: Ir, version: number, options: CompileOptions = {}): Snapshot {
  const freeze = options.freeze ?? process.env.NODE_ENV !== 'production';
  const irRoutes = ir.routes.slice().sort((a, b) => a.order - b.order);
  const routes: CompiledRoute[] = [];
  const matchers: RouteMatcher[] = [];
  for (let i = 0; i < irRoutes.length; i++) {
    const r = irRoutes[i];
    try {
      const route = compileRoute(r, ir.settings);
      matchers.push(compileRouteMatcher(route));
      routes.push(route);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      options.onProblem?.({ routeId: r.id, order: r.order, sources: r.sources, message: err.message });
    }
  }
  const table = new IndexedRouteTable(matchers);
  const clusters = new Map<string, (typeof ir.clusters)[number]>();
  for (let i = 0; i < ir.clusters.length; i++) clusters.set(ir.clusters[i].id, ir.clusters[i]);
  const snapshot: Snapshot = { version, hash: ir.hash, settings: ir.settings, table, routes, clusters, ir };
  if (freeze) {
    deepFreeze(routes);
    deepFreeze(clusters);
    deepFreeze(ir);
    Object.freeze(table);
    Object.freeze(snapshot);
  }
  return snapshot;
}

/** `settings` supplies the defaults of per-target limits the route's Mappings leave unset. */
export function compileRoute(r: IrRoute, settings: IrSettings): CompiledRoute {
  const targets: CompiledTarget[] = [];
  for (let i = 0; i < r.targets.length; i++) targets.push(compileTarget(r, r.targets[i], settings));
  return {
    ir: r,
    id: r.id,
    order: r.order,
    targets,
    single: targets.length === 1,
    redirect: r.redirect === null ? null : compileRedirect(r.redirect, r.match.path),
    shadow: r.shadow === null ? null : compileShadow(r, r.shadow),
  };
}

function compileTarget(r: IrRoute, t: IrTarget, settings: IrSettings): CompiledTarget {
  return {
    ir: t,
    threshold: t.threshold,
    cluster: t.cluster,
    rewritePath: compilePathRewrite(t.rewrite, r.match.path),
    hostRewrite: t.hostRewrite,
    timeoutMs: t.timeoutMs,
    idleTimeoutMs: t.idleTimeoutMs,
    maxRequestBodyBytes: t.maxRequestBodyBytes ?? settings.maxRequestBodyBytes,
    responseHeadersTimeoutMs: t.responseHeadersTimeoutMs ?? settings.responseHeadersTimeoutMs,
    addRequestHeaders: headerAdds(t.addRequestHeaders),
    removeRequestHeaders: names(t.removeRequestHeaders),
    addResponseHeaders: headerAdds(t.addResponseHeaders),
    removeResponseHeaders: names(t.removeResponseHeaders),
  };
}

function compileShadow(r: IrRoute, s: IrShadow): CompiledShadow {
  return {
    cluster: s.cluster,
    percent: s.percent,
    rewritePath: compilePathRewrite(s.rewrite, r.match.path),
    hostRewrite: s.hostRewrite,
    timeoutMs: s.timeoutMs,
  };
}

function headerAdds(list: readonly IrHeaderAdd[]): readonly CompiledHeaderAdd[] | null {
  if (list.length === 0) return null;
  const out: CompiledHeaderAdd[] = [];
  for (let i = 0; i < list.length; i++) {
    const h = list[i];
    out.push({ name: h.name.toLowerCase(), value: h.value, append: h.append });
  }
  return out;
}

function names(list: readonly string[]): readonly string[] | null {
  if (list.length === 0) return null;
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) out.push(list[i].toLowerCase());
  return out;
}
