/**
 * Mapping, getambassador.io/v2 (and v1, which reuses v2's spec), plus the legacy `ambassador/v0`
 * form. Built from the v3alpha1 schema by overriding the fields whose v2 types are unions (see the
 * Emissary v2 Go types and §1.2 of the compatibility reference). Used to validate objects as written;
 * `normalize/mapping.ts` then converts them to `MappingSpec`. Exported for the CRD generator.
 */
import { type Static, Type as T, type TSchema } from '@sinclair/typebox';
import { CircuitBreaker, Cors, HeaderToAdd, MappingSpec } from './mapping.js';

/** `ambassador_id`: one id or a list. */
export const AmbassadorIdV2 = T.Union([T.String(), T.Array(T.String())], {
  description: 'Gateway id, or list of ids, that use this object; default ["default"].',
});

const StringOrList = T.Union([T.String(), T.Array(T.String())]);

/** v2 header/query matches: a value to match exactly, or `true` meaning "present". */
const ValueOrPresent = T.Record(T.String(), T.Union([T.String(), T.Literal(true)]));

export const CorsV2 = T.Object(
  {
    ...Cors.properties,
    origins: T.Optional(
      T.Union([T.String({ description: 'Comma-separated origins.' }), T.Array(T.String())]),
    ),
    methods: T.Optional(StringOrList),
    headers: T.Optional(StringOrList),
    exposed_headers: T.Optional(StringOrList),
  },
  { additionalProperties: false },
);

const AddedHeadersV2 = T.Record(T.String(), T.Union([T.String(), HeaderToAdd]));

// Fields whose v2 spelling differs from v3alpha1 are removed from the shared property set.
const {
  stats_name: _statsName,
  health_checks: _healthChecks,
  hostname: _hostname,
  ...v3Common
} = MappingSpec.properties;

/** Fields Emissary's schema has but no code reads; accepted and dropped with a note. */
export const kInertMappingFields = {
  modules: T.Optional(T.Array(T.Unknown())),
  envoy_override: T.Optional(T.Unknown()),
  outlier_detection: T.Optional(T.String()),
} satisfies Record<string, TSchema>;

export const MappingV2Spec = T.Object(
  {
    ...v3Common,
    ...kInertMappingFields,
    ambassador_id: T.Optional(AmbassadorIdV2),
    tls: T.Optional(
      T.Union([T.Boolean(), T.String()], {
        description: 'true: originate TLS with no context; a string names a TLSContext.',
      }),
    ),
    headers: T.Optional(ValueOrPresent),
    query_parameters: T.Optional(ValueOrPresent),
    cors: T.Optional(CorsV2),
    add_request_headers: T.Optional(AddedHeadersV2),
    add_response_headers: T.Optional(AddedHeadersV2),
    remove_request_headers: T.Optional(StringOrList),
    remove_response_headers: T.Optional(StringOrList),
    v3StatsName: T.Optional(T.String({ description: 'v3alpha1 `stats_name`.' })),
    v3health_checks: T.Optional(T.Array(T.Unknown(), { description: 'v3alpha1 `health_checks`.' })),
  },
  { additionalProperties: false },
);
export type MappingV2Spec = Static<typeof MappingV2Spec>;

/**
 * `ambassador/v0` Mapping. Accepted as a superset of v2 (a v0 object never fails for a field v1
 * added), plus the two v0-only fields: `rate_limits` (list of `{descriptor, headers}`) and the
 * singular `circuit_breaker`.
 */
export const RateLimitV0 = T.Object(
  { descriptor: T.Optional(T.String()), headers: T.Optional(T.Array(T.String())) },
  { additionalProperties: false },
);

export const MappingV0Spec = T.Object(
  {
    ...MappingV2Spec.properties,
    rate_limits: T.Optional(T.Array(RateLimitV0)),
    circuit_breaker: T.Optional(CircuitBreaker),
  },
  { additionalProperties: false },
);
export type MappingV0Spec = Static<typeof MappingV0Spec>;
