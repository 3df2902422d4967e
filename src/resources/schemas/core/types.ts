/**
 * The parts of core/v1 Service and discovery.k8s.io/v1 EndpointSlice that Legate reads.
 * Unknown fields are allowed: these are Kubernetes' own kinds, not ours to police.
 */
import { type Static, Type as T } from '@sinclair/typebox';

export const ServicePort = T.Object(
  {
    name: T.Optional(T.String()),
    port: T.Integer({ minimum: 1, maximum: 65535 }),
    targetPort: T.Optional(T.Union([T.Integer(), T.String()])),
    protocol: T.Optional(T.String()),
    appProtocol: T.Optional(T.String()),
  },
  { additionalProperties: true },
);

export const ServiceSpec = T.Object(
  {
    type: T.Optional(T.String()),
    ports: T.Optional(T.Array(ServicePort)),
    clusterIP: T.Optional(T.String()),
    externalName: T.Optional(T.String()),
    selector: T.Optional(T.Record(T.String(), T.String())),
  },
  { additionalProperties: true },
);
export type ServiceSpec = Static<typeof ServiceSpec>;

export const EndpointSliceSpec = T.Object(
  {
    addressType: T.String(),
    endpoints: T.Array(
      T.Object(
        {
          addresses: T.Array(T.String()),
          conditions: T.Optional(
            T.Object(
              {
                ready: T.Optional(T.Union([T.Boolean(), T.Null()])),
                serving: T.Optional(T.Union([T.Boolean(), T.Null()])),
                terminating: T.Optional(T.Union([T.Boolean(), T.Null()])),
              },
              { additionalProperties: true },
            ),
          ),
          hostname: T.Optional(T.String()),
          nodeName: T.Optional(T.String()),
          zone: T.Optional(T.String()),
        },
        { additionalProperties: true },
      ),
    ),
    ports: T.Optional(
      T.Array(
        T.Object(
          {
            name: T.Optional(T.String()),
            port: T.Optional(T.Integer()),
            protocol: T.Optional(T.String()),
            appProtocol: T.Optional(T.String()),
          },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { additionalProperties: true },
);
export type EndpointSliceSpec = Static<typeof EndpointSliceSpec>;
