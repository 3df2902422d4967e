/**
 * IR node types: the validated, resolved configuration, before anything is compiled.
 *
 * Produced by `ir/build.ts` (pure, no I/O) from a `ResourceSet`; consumed by
 * `snapshot/compile.ts` and by diagnostics. Every type here is plain JSON data (no RegExp, no
 * functions, no Maps): the IR is sent as-is from the control process to every worker, and shown
 * as-is on /diag. Regular expressions travel as source strings and are known to compile (the IR
 * build checks them).
 */
import type { ResourceStatus } from '../resources/types.js';

/** How the request's host (the `:authority`, port stripped, lower-cased) is matched. */
export type IrHostMatch =
  /** Any host (`hostname: "*"`, v2 Mapping without `host`). */
  | { readonly kind: 'any' }
  /** Exact, case-insensitive; value is lower-case. */
  | { readonly kind: 'exact'; readonly value: string }
  /** `*.example.com`: value is the suffix including the dot (`.example.com`), lower-case. */
  | { readonly kind: 'suffix'; readonly value: string }
  /** `foo.example.*`: value is the prefix (`foo.example.`), lower-case. */
  | { readonly kind: 'prefix'; readonly value: string }
  /** `host_regex`: a full-match regex over the authority as sent (port included when present). */
  | { readonly kind: 'regex'; readonly value: string };

/** One header or query-parameter condition. */
export interface IrValueMatch {
  /** Header names are lower-case; query parameter names are as written. */
  readonly name: string;
  /** `exact`: value equality; `regex`: full match; `present`: the name is present (value ignored). */
  readonly kind: 'exact' | 'regex' | 'present';
  readonly value: string;
}

export interface IrPathMatch {
  /** `prefix`: raw string prefix; `exact`: whole path; `regex`: full match over the whole path. */
  readonly kind: 'prefix' | 'exact' | 'regex';
  readonly value: string;
  readonly caseSensitive: boolean;
}

export interface IrMatch {
  readonly path: IrPathMatch;
  readonly host: IrHostMatch;
  /** Upper-case method, or a regex with `regex: true`; absent means any method. */
  readonly method?: { readonly value: string; readonly regex: boolean };
  readonly headers: readonly IrValueMatch[];
  readonly query: readonly IrValueMatch[];
}

export interface IrHeaderAdd {
  /** Lower-case header name. */
  readonly name: string;
  readonly value: string;
  /** true: add another value; false: replace any existing value. */
  readonly append: boolean;
}

/** How the path is changed before the request goes upstream. */
export type IrRewrite =
  /** Replace the matched prefix (for regex/exact matches: the whole path) with `value`. */
  | { readonly kind: 'prefix'; readonly value: string }
  /** Regex substitution over the whole path (query kept). `\1`-style back-references. */
  | { readonly kind: 'regex'; readonly pattern: string; readonly substitution: string };

/** One Mapping's share of a route: where the request goes and how it is transformed. */
export interface IrTarget {
  /** Key of the Mapping this target came from. */
  readonly mapping: string;
  /**
   * Cumulative canary threshold in (0, 100]: the request goes to the first target whose threshold
   * is greater than the request's single draw in [0, 100). The last target's threshold is 100.
   * A target whose share is 0 keeps its place with the same threshold as the one before it.
   */
  readonly threshold: number;
  /** This target's own share in percent (threshold minus the previous threshold), for display. */
  readonly weight: number;
  /** Id of the `IrCluster` the request is sent to. */
  readonly cluster: string;
  readonly rewrite: IrRewrite | null;
  /** Host header sent upstream, replacing the client's. */
  readonly hostRewrite: string | null;
  /** End-to-end request timeout in ms; 0 disables. */
  readonly timeoutMs: number;
  /** Stream idle timeout in ms (no bytes either way); 0 disables. */
  readonly idleTimeoutMs: number;
  /**
   * The Mapping's own `max_request_body_bytes` (0 = no limit). Absent when the Mapping does not
   * set it: the snapshot compiler then applies `IrSettings.maxRequestBodyBytes`, so targets of
   * every origin (Mappings, Ingress) get the Module default in one place.
   */
  readonly maxRequestBodyBytes?: number;
  /** The Mapping's own `response_headers_timeout_ms` (0 = off); absent = the Module default
   * (`IrSettings.responseHeadersTimeoutMs`), applied by the snapshot compiler. */
  readonly responseHeadersTimeoutMs?: number;
  readonly addRequestHeaders: readonly IrHeaderAdd[];
  /** Lower-case names. */
  readonly removeRequestHeaders: readonly string[];
  readonly addResponseHeaders: readonly IrHeaderAdd[];
  readonly removeResponseHeaders: readonly string[];
}

/** A redirect route answers by itself; it has no targets. */
export interface IrRedirect {
  readonly code: 301 | 302 | 303 | 307 | 308;
  /** Replacement `host[:port]` (from `service` of a `host_redirect` Mapping), or null to keep. */
  readonly host: string | null;
  /** `https` when the redirect Mapping's service says so, else null to keep the request's scheme. */
  readonly scheme: 'http' | 'https' | null;
  /** Exactly one of these path operations, or none (path kept). */
  readonly path:
    | { readonly kind: 'keep' }
    | { readonly kind: 'replace'; readonly value: string }
    | { readonly kind: 'prefix'; readonly value: string }
    | { readonly kind: 'regex'; readonly pattern: string; readonly substitution: string };
}

/** Mirror a percentage of the route's requests to a cluster; the reply is discarded. */
export interface IrShadow {
  readonly mapping: string;
  readonly cluster: string;
  /** Percent of requests mirrored (0–100). */
  readonly percent: number;
  readonly rewrite: IrRewrite | null;
  readonly hostRewrite: string | null;
  readonly timeoutMs: number;
}

/**
 * One route: a group of Mappings with identical match conditions (a canary group), in evaluation
 * order. The route table returns the first route (lowest `order`) whose match holds.
 */
export interface IrRoute {
  /** Stable group id (hash of the match conditions), used in diagnostics and metrics. */
  readonly id: string;
  /** 0-based position in evaluation order; unique. */
  readonly order: number;
  readonly precedence: number;
  readonly match: IrMatch;
  /** Canary targets in threshold order; empty for redirect routes. */
  readonly targets: readonly IrTarget[];
  readonly redirect: IrRedirect | null;
  readonly shadow: IrShadow | null;
  /** Keys of every Mapping that contributed, shadow included. */
  readonly sources: readonly string[];
}

export interface IrEndpoint {
  /** IP address or DNS name. */
  readonly address: string;
  readonly port: number;
}

/**
 * An upstream cluster: one per distinct (service, policy) pair. The id is stable across builds for
 * the same service and policy, so pools survive reconfiguration.
 */
export interface IrCluster {
  readonly id: string;
  /** The `service` as written by the first Mapping that named it, for display. */
  readonly service: string;
  readonly scheme: 'http' | 'https';
  /**
   * `static`: a host:port used as-is (a DNS name is resolved at connect time);
   * `kubernetes`: a Service resolved through its EndpointSlices.
   */
  readonly resolution: 'static' | 'kubernetes';
  /** For `kubernetes`: `name.namespace:port` of the Service. */
  readonly serviceRef?: { readonly namespace: string; readonly name: string; readonly port: string | number };
  /** Ready endpoints now; may be empty (the route then answers 503). */
  readonly endpoints: readonly IrEndpoint[];
  readonly connectTimeoutMs: number;
  /** Idle keep-alive connections to the upstream are closed after this; 0 means the default. */
  readonly idleTimeoutMs: number;
  /** Upstream connections are recycled after this long; 0 means unlimited. */
  readonly maxConnectionLifetimeMs: number;
  /** Host header / SNI to use when no `host_rewrite` applies and the client's host is not kept. */
  readonly authority: string;
}

/** Gateway-wide settings from the `ambassador` Module, with defaults applied. */
export interface IrSettings {
  readonly preserveExternalRequestId: boolean;
  readonly serverName: string | null;
  readonly suppressEnvoyHeaders: boolean;
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly rejectRequestsWithEscapedSlashes: boolean;
  readonly maxRequestHeadersKb: number;
  readonly listenerIdleTimeoutMs: number;
  readonly stripMatchingHostPort: boolean;
  // Edge limits (Legate's own Module keys; 0 turns a limit off unless noted).
  /** More request header fields than this → 431. */
  readonly maxRequestHeadersCount: number;
  /** A request target longer than this many bytes → 414. */
  readonly maxRequestUrlBytes: number;
  /** Default request body limit for routes without their own (`max_request_body_bytes`) → 413. */
  readonly maxRequestBodyBytes: number;
  /** The request head must arrive within this → 408. */
  readonly requestHeadersTimeoutMs: number;
  /** The whole request (head and body) must arrive within this → 408. */
  readonly requestTimeoutMs: number;
  /** Open client connections per process; more are closed at accept. */
  readonly maxConnections: number;
  /** Requests served on one client connection before Legate closes it. */
  readonly maxRequestsPerConnection: number;
  /** Default for routes without `response_headers_timeout_ms`: the upstream's response head must
   * arrive within this → 504. */
  readonly responseHeadersTimeoutMs: number;
  /** An upstream response head larger than this → 502. */
  readonly maxResponseHeadersKb: number;
  /** An upstream response body larger than this → 502 before the head is sent (by Content-Length),
   * else the client connection is cut when the limit is crossed. */
  readonly maxResponseBodyBytes: number;
}

export interface Ir {
  /** Hash of the input; equal inputs give equal hashes. */
  readonly hash: string;
  readonly ambassadorId: string;
  readonly settings: IrSettings;
  /** In evaluation order (`routes[i].order === i`). */
  readonly routes: readonly IrRoute[];
  readonly clusters: readonly IrCluster[];
  /** Every object seen, with its conditions; includes the IR's own findings. */
  readonly statuses: readonly ResourceStatus[];
}
