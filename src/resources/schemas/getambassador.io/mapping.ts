/**
 * Mapping, getambassador.io/v3alpha1: the one shape every Mapping is normalised to.
 *
 * This schema is the single source of truth for the TypeScript type (`MappingSpec`), the runtime
 * validation of v3alpha1 objects, and the CRD manifest. Older apiVersions have their own schemas
 * and are converted to this shape in `resources/normalize/`. Field meanings follow Emissary's
 * Mapping (see the README's configuration reference).
 */
import { type Static, Type as T } from '@sinclair/typebox';

const Int = (opts: { minimum?: number; maximum?: number; description?: string } = {}) =>
  T.Integer({ ...opts });

export const AmbassadorId = T.Array(T.String(), {
  description: 'Gateways (by --ambassador-id) that use this object; default ["default"].',
});

export const HeaderToAdd = T.Object(
  {
    value: T.String(),
    append: T.Optional(T.Boolean({ description: 'Append to an existing value (default true).' })),
  },
  { additionalProperties: false },
);
export type HeaderToAdd = Static<typeof HeaderToAdd>;

export const RegexRewrite = T.Object(
  {
    pattern: T.String({ description: 'RE2-compatible regular expression over the whole path.' }),
    substitution: T.String({ description: 'Replacement; \\1 refers to capture group 1.' }),
  },
  { additionalProperties: false },
);

export const CircuitBreaker = T.Object(
  {
    priority: T.Optional(T.Union([T.Literal('default'), T.Literal('high')])),
    max_connections: T.Optional(Int({ minimum: 0 })),
    max_pending_requests: T.Optional(Int({ minimum: 0 })),
    max_requests: T.Optional(Int({ minimum: 0 })),
    max_retries: T.Optional(Int({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const RetryPolicy = T.Object(
  {
    retry_on: T.Optional(
      T.Union([
        T.Literal('5xx'),
        T.Literal('gateway-error'),
        T.Literal('connect-failure'),
        T.Literal('retriable-4xx'),
        T.Literal('refused-stream'),
        T.Literal('retriable-status-codes'),
      ]),
    ),
    num_retries: T.Optional(Int({ minimum: 0 })),
    per_try_timeout: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

export const LoadBalancer = T.Object(
  {
    policy: T.Union([
      T.Literal('round_robin'),
      T.Literal('least_request'),
      T.Literal('ring_hash'),
      T.Literal('maglev'),
    ]),
    cookie: T.Optional(
      T.Object(
        { name: T.String(), path: T.Optional(T.String()), ttl: T.Optional(T.String()) },
        { additionalProperties: false },
      ),
    ),
    header: T.Optional(T.String()),
    source_ip: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

export const Cors = T.Object(
  {
    origins: T.Optional(T.Array(T.String())),
    methods: T.Optional(T.Array(T.String())),
    headers: T.Optional(T.Array(T.String())),
    credentials: T.Optional(T.Boolean()),
    exposed_headers: T.Optional(T.Array(T.String())),
    max_age: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

export const KeepAlive = T.Object(
  {
    probes: T.Optional(Int({ minimum: 0 })),
    idle_time: T.Optional(Int({ minimum: 0 })),
    interval: T.Optional(Int({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** Rate-limit label specifiers are kept as written; the rate-limit issue gives them a schema. */
export const Labels = T.Record(T.String(), T.Array(T.Record(T.String(), T.Unknown())));

export const MappingSpec = T.Object(
  {
    ambassador_id: T.Optional(AmbassadorId),
    // --- match
    prefix: T.String({ minLength: 1, description: 'Path prefix (or regex with prefix_regex).' }),
    prefix_regex: T.Optional(T.Boolean()),
    prefix_exact: T.Optional(T.Boolean()),
    case_sensitive: T.Optional(T.Boolean()),
    hostname: T.Optional(
      T.String({ description: 'DNS glob: "*", "*.example.com", "foo.example.*" or exact.' }),
    ),
    host: T.Optional(T.String({ description: 'Deprecated: exact :authority (or regex with host_regex).' })),
    host_regex: T.Optional(T.Boolean()),
    method: T.Optional(T.String()),
    method_regex: T.Optional(T.Boolean()),
    headers: T.Optional(T.Record(T.String(), T.String())),
    regex_headers: T.Optional(T.Record(T.String(), T.String())),
    query_parameters: T.Optional(T.Record(T.String(), T.String())),
    regex_query_parameters: T.Optional(T.Record(T.String(), T.String())),
    precedence: T.Optional(Int()),
    // --- upstream
    service: T.String({ minLength: 1, description: '[scheme://]host[.namespace][:port]' }),
    weight: T.Optional(Int({ minimum: 0, maximum: 100 })),
    shadow: T.Optional(T.Boolean()),
    timeout_ms: T.Optional(Int({ minimum: 0 })),
    idle_timeout_ms: T.Optional(Int({ minimum: 0 })),
    connect_timeout_ms: T.Optional(Int({ minimum: 0 })),
    cluster_idle_timeout_ms: T.Optional(Int({ minimum: 0 })),
    // Legate extensions (edge limits); defaults come from the ambassador Module.
    max_request_body_bytes: T.Optional(
      Int({
        minimum: 0,
        description:
          "Legate: request bodies larger than this are refused with 413; 0 = no limit. Default: the Module's max_request_body_bytes.",
      }),
    ),
    response_headers_timeout_ms: T.Optional(
      Int({
        minimum: 0,
        description:
          "Legate: no upstream response head within this many ms after the request was sent → 504; 0 = off. Default: the Module's response_headers_timeout_ms.",
      }),
    ),
    cluster_max_connection_lifetime_ms: T.Optional(Int({ minimum: 0 })),
    cluster_tag: T.Optional(T.String()),
    stats_name: T.Optional(T.String()),
    tls: T.Optional(T.String()),
    grpc: T.Optional(T.Boolean()),
    resolver: T.Optional(T.String()),
    dns_type: T.Optional(T.String()),
    respect_dns_ttl: T.Optional(T.Boolean()),
    enable_ipv4: T.Optional(T.Boolean()),
    enable_ipv6: T.Optional(T.Boolean()),
    load_balancer: T.Optional(LoadBalancer),
    circuit_breakers: T.Optional(T.Array(CircuitBreaker)),
    retry_policy: T.Optional(RetryPolicy),
    keepalive: T.Optional(KeepAlive),
    health_checks: T.Optional(T.Array(T.Unknown())),
    // --- transform
    rewrite: T.Optional(T.String({ description: 'Replaces the matched prefix; default "/", "" disables.' })),
    regex_rewrite: T.Optional(RegexRewrite),
    host_rewrite: T.Optional(T.String()),
    auto_host_rewrite: T.Optional(T.Boolean()),
    add_request_headers: T.Optional(T.Record(T.String(), HeaderToAdd)),
    add_response_headers: T.Optional(T.Record(T.String(), HeaderToAdd)),
    remove_request_headers: T.Optional(T.Array(T.String())),
    remove_response_headers: T.Optional(T.Array(T.String())),
    add_linkerd_headers: T.Optional(T.Boolean()),
    // --- redirects
    host_redirect: T.Optional(T.Boolean()),
    path_redirect: T.Optional(T.String()),
    prefix_redirect: T.Optional(T.String()),
    regex_redirect: T.Optional(RegexRewrite),
    redirect_response_code: T.Optional(
      T.Union([T.Literal(301), T.Literal(302), T.Literal(303), T.Literal(307), T.Literal(308)]),
    ),
    // --- policies served by later features; accepted so existing configuration validates
    cors: T.Optional(Cors),
    bypass_auth: T.Optional(T.Boolean()),
    auth_context_extensions: T.Optional(T.Record(T.String(), T.String())),
    labels: T.Optional(Labels),
    allow_upgrade: T.Optional(T.Array(T.String())),
    use_websocket: T.Optional(T.Boolean()),
    priority: T.Optional(T.String()),
    bypass_error_response_overrides: T.Optional(T.Boolean()),
    error_response_overrides: T.Optional(T.Array(T.Unknown())),
    docs: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: false },
);
export type MappingSpec = Static<typeof MappingSpec>;
