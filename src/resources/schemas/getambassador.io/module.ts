/**
 * Module, getambassador.io/v3alpha1. Only the Module named `ambassador` is read. Its `config` is
 * an open map in Emissary; the keys Legate acts on are typed here and the rest are accepted as
 * written (reported as ignored by the IR).
 */
import { type Static, Type as T } from '@sinclair/typebox';
import { AmbassadorId, HeaderToAdd } from './mapping.js';

export const ModuleDefaults = T.Object(
  {
    add_request_headers: T.Optional(T.Record(T.String(), HeaderToAdd)),
    add_response_headers: T.Optional(T.Record(T.String(), HeaderToAdd)),
    remove_request_headers: T.Optional(T.Array(T.String())),
    remove_response_headers: T.Optional(T.Array(T.String())),
  },
  { additionalProperties: true },
);

export const ModuleConfig = T.Object(
  {
    cluster_request_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    cluster_idle_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    cluster_max_connection_lifetime_ms: T.Optional(T.Integer({ minimum: 0 })),
    listener_idle_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    use_ambassador_namespace_for_service_resolution: T.Optional(T.Boolean()),
    preserve_external_request_id: T.Optional(T.Boolean()),
    server_name: T.Optional(T.String()),
    suppress_envoy_headers: T.Optional(T.Boolean()),
    use_remote_address: T.Optional(T.Boolean()),
    xff_num_trusted_hops: T.Optional(T.Integer({ minimum: 0 })),
    normalize_path: T.Optional(T.Boolean()),
    merge_slashes: T.Optional(T.Boolean()),
    reject_requests_with_escaped_slashes: T.Optional(T.Boolean()),
    max_request_headers_kb: T.Optional(T.Integer({ minimum: 1 })),
    // Legate's edge limits (not Emissary keys; Emissary's open Module map never used these names).
    max_request_headers_count: T.Optional(T.Integer({ minimum: 0 })),
    max_request_url_bytes: T.Optional(T.Integer({ minimum: 0 })),
    max_request_body_bytes: T.Optional(T.Integer({ minimum: 0 })),
    request_headers_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    request_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    max_connections: T.Optional(T.Integer({ minimum: 0 })),
    max_requests_per_connection: T.Optional(T.Integer({ minimum: 0 })),
    response_headers_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    max_response_headers_kb: T.Optional(T.Integer({ minimum: 1 })),
    max_response_body_bytes: T.Optional(T.Integer({ minimum: 0 })),
    buffer: T.Optional(
      T.Object({ max_request_bytes: T.Integer({ minimum: 0 }) }, { additionalProperties: true }),
    ),
    strip_matching_host_port: T.Optional(T.Boolean()),
    add_linkerd_headers: T.Optional(T.Boolean()),
    defaults: T.Optional(
      T.Object({ httpmapping: T.Optional(ModuleDefaults) }, { additionalProperties: true }),
    ),
  },
  { additionalProperties: true },
);
export type ModuleConfig = Static<typeof ModuleConfig>;

export const ModuleSpec = T.Object(
  {
    ambassador_id: T.Optional(AmbassadorId),
    config: T.Optional(ModuleConfig),
  },
  { additionalProperties: false },
);
export type ModuleSpec = Static<typeof ModuleSpec>;
