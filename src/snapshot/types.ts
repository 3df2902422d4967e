/**
 * Compiled, immutable snapshot types: what the request path reads.
 *
 * Built by `snapshot/compile.ts` from an `Ir` (never on the request path); swapped in by
 * `SnapshotStore.swap`. Everything the hot path needs is precomputed here: regexes built, header
 * names lower-cased, rewrite functions specialised, empty lists turned into null. A request reads
 * `store.current` once on arrival and uses that snapshot until it ends.
 */
import type { Ir, IrCluster, IrRoute, IrSettings, IrTarget } from '../ir/types.js';

/** What the route table needs from a request. Built once per request by the stream. */
export interface MatchRequest {
  /** Upper-case as sent (methods are case-sensitive tokens). */
  readonly method: string;
  /** Host without port, lower-cased; '' when the request has none. */
  readonly host: string;
  /** The Host/:authority header exactly as sent (port included); used by host_regex. */
  readonly authority: string;
  /** Normalised path without the query string. */
  readonly path: string;
  /** Raw query string without the leading '?', '' when absent. */
  readonly query: string;
  /** Request headers as node:http presents them (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Result of a path rewrite: the new path (query handled by the caller). */
export type PathRewriter = (path: string) => string;

export interface CompiledHeaderAdd {
  /** Lower-case. */
  readonly name: string;
  readonly value: string;
  readonly append: boolean;
}

export interface CompiledTarget {
  readonly ir: IrTarget;
  /** Cumulative threshold in (0, 100]; see IrTarget.threshold. */
  readonly threshold: number;
  readonly cluster: string;
  /** Turns the request path into the upstream path; null when the path is kept. */
  readonly rewritePath: PathRewriter | null;
  readonly hostRewrite: string | null;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Request body limit in bytes (the Mapping's, else the Module default); 0 = none → 413. */
  readonly maxRequestBodyBytes: number;
  /** Upstream response-head deadline in ms after the request was sent (Mapping, else Module
   * default); 0 = off → 504. */
  readonly responseHeadersTimeoutMs: number;
  /** null when empty. */
  readonly addRequestHeaders: readonly CompiledHeaderAdd[] | null;
  readonly removeRequestHeaders: readonly string[] | null;
  readonly addResponseHeaders: readonly CompiledHeaderAdd[] | null;
  readonly removeResponseHeaders: readonly string[] | null;
}

export interface CompiledRedirect {
  readonly code: number;
  /**
   * Builds the Location header value from the request's scheme, authority, path and query
   * (query kept, as Envoy does).
   */
  readonly location: (scheme: string, authority: string, path: string, query: string) => string;
}

export interface CompiledShadow {
  readonly cluster: string;
  readonly percent: number;
  readonly rewritePath: PathRewriter | null;
  readonly hostRewrite: string | null;
  readonly timeoutMs: number;
}

export interface CompiledRoute {
  readonly ir: IrRoute;
  readonly id: string;
  readonly order: number;
  /** In threshold order; empty for redirect routes. */
  readonly targets: readonly CompiledTarget[];
  /** Only targets[0] exists (no draw needed). */
  readonly single: boolean;
  readonly redirect: CompiledRedirect | null;
  readonly shadow: CompiledShadow | null;
}

/** Picks the route for a request: first match in evaluation order, or null (404). */
export interface RouteTable {
  match(req: MatchRequest): CompiledRoute | null;
  /** Number of routes. */
  readonly size: number;
}

export interface Snapshot {
  /** Increases by one with every swap in a process. */
  readonly version: number;
  /** Hash of the IR it was compiled from. */
  readonly hash: string;
  readonly settings: IrSettings;
  readonly table: RouteTable;
  /** In evaluation order. */
  readonly routes: readonly CompiledRoute[];
  /** Cluster definitions by id; live state (pools) is kept outside the snapshot. */
  readonly clusters: ReadonlyMap<string, IrCluster>;
  /** The IR it came from (for diagnostics; never read on the request path). */
  readonly ir: Ir;
}

/** Re-exported for convenience of the route table implementation. */
export type { IrRoute };
