/**
 * The parts of networking.k8s.io/v1 Ingress and IngressClass that Legate reads.
 *
 * Kubernetes' own kinds: unknown fields are allowed everywhere (the API server owns the schema),
 * but every field the Ingress processor uses is typed here, so a wrong type is a precise field
 * error on the object. Rules the API server enforces beyond types (one of service/resource, one of
 * port name/number, path syntax, host syntax) are checked in `resources/normalize/ingress.ts`,
 * because objects read from files never went through the API server.
 */
import { type Static, Type as T } from '@sinclair/typebox';

const Open = { additionalProperties: true } as const;

export const IngressServiceBackendPort = T.Object(
  {
    name: T.Optional(T.String({ minLength: 1 })),
    number: T.Optional(T.Integer({ minimum: 1, maximum: 65535 })),
  },
  Open,
);

export const IngressServiceBackend = T.Object(
  {
    name: T.String({ minLength: 1 }),
    port: IngressServiceBackendPort,
  },
  Open,
);

/** core/v1 TypedLocalObjectReference (`backend.resource`, IngressClass `parameters` are close). */
export const TypedLocalObjectReference = T.Object(
  {
    apiGroup: T.Optional(T.Union([T.String(), T.Null()])),
    kind: T.String({ minLength: 1 }),
    name: T.String({ minLength: 1 }),
  },
  Open,
);

export const IngressBackend = T.Object(
  {
    service: T.Optional(IngressServiceBackend),
    resource: T.Optional(TypedLocalObjectReference),
  },
  Open,
);
export type IngressBackend = Static<typeof IngressBackend>;

export const PathType = T.Union([
  T.Literal('Exact'),
  T.Literal('Prefix'),
  T.Literal('ImplementationSpecific'),
]);
export type PathType = Static<typeof PathType>;

export const HTTPIngressPath = T.Object(
  {
    path: T.Optional(T.String()),
    pathType: PathType,
    backend: IngressBackend,
  },
  Open,
);
export type HTTPIngressPath = Static<typeof HTTPIngressPath>;

export const IngressRule = T.Object(
  {
    host: T.Optional(T.String()),
    http: T.Optional(T.Object({ paths: T.Array(HTTPIngressPath) }, Open)),
  },
  Open,
);
export type IngressRule = Static<typeof IngressRule>;

export const IngressTLS = T.Object(
  {
    hosts: T.Optional(T.Array(T.String())),
    secretName: T.Optional(T.String()),
  },
  Open,
);

export const IngressSpec = T.Object(
  {
    ingressClassName: T.Optional(T.String({ minLength: 1 })),
    defaultBackend: T.Optional(IngressBackend),
    tls: T.Optional(T.Array(IngressTLS)),
    rules: T.Optional(T.Array(IngressRule)),
  },
  Open,
);
export type IngressSpec = Static<typeof IngressSpec>;

export const IngressClassSpec = T.Object(
  {
    controller: T.Optional(T.String()),
    parameters: T.Optional(
      T.Object(
        {
          apiGroup: T.Optional(T.Union([T.String(), T.Null()])),
          kind: T.String(),
          name: T.String(),
          scope: T.Optional(T.String()),
          namespace: T.Optional(T.String()),
        },
        Open,
      ),
    ),
  },
  Open,
);
export type IngressClassSpec = Static<typeof IngressClassSpec>;
