/**
 * The kinds the Kubernetes source watches, and how their API paths are built.
 *
 * A kind lists candidate versions in preference order: the reflector uses the first one the API
 * server serves (a 404 on list moves to the next). Only ONE version of a CRD is ever watched:
 * every served version shows the same stored objects, so watching two would duplicate them.
 * `optional` kinds (CRDs) may be absent: that is reported, treated as empty and re-checked.
 */

export interface KindSpec {
  readonly kind: string;
  /** Plural resource name in the URL (`mappings`). */
  readonly resource: string;
  /** API group; '' for the core group. */
  readonly group: string;
  /** Versions to try, preferred first. */
  readonly versions: readonly string[];
  readonly namespaced: boolean;
  /** A 404 means "not installed": empty, reported, re-checked periodically. */
  readonly optional?: boolean;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export function apiVersionOf(kind: KindSpec, version: string): string {
  return kind.group === '' ? version : `${kind.group}/${version}`;
}

/** Collection path, cluster-wide when `namespace` is undefined or the kind is cluster-scoped. */
export function collectionPath(kind: KindSpec, version: string, namespace?: string): string {
  const base = kind.group === '' ? `/api/${version}` : `/apis/${kind.group}/${version}`;
  const ns = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${kind.resource}`;
}

/** Path of one object (optionally a subresource such as `status`). */
export function objectPath(
  kind: KindSpec,
  version: string,
  namespace: string | undefined,
  name: string,
  subresource?: string,
): string {
  const base = kind.group === '' ? `/api/${version}` : `/apis/${kind.group}/${version}`;
  const ns = kind.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? 'default')}` : '';
  const sub = subresource ? `/${subresource}` : '';
  return `${base}${ns}/${kind.resource}/${encodeURIComponent(name)}${sub}`;
}

export const Kinds = {
  Service: { kind: 'Service', resource: 'services', group: '', versions: ['v1'], namespaced: true },
  EndpointSlice: {
    kind: 'EndpointSlice',
    resource: 'endpointslices',
    group: 'discovery.k8s.io',
    versions: ['v1'],
    namespaced: true,
  },
  Ingress: {
    kind: 'Ingress',
    resource: 'ingresses',
    group: 'networking.k8s.io',
    versions: ['v1'],
    namespaced: true,
  },
  IngressClass: {
    kind: 'IngressClass',
    resource: 'ingressclasses',
    group: 'networking.k8s.io',
    versions: ['v1'],
    namespaced: false,
  },
  Mapping: {
    kind: 'Mapping',
    resource: 'mappings',
    group: 'getambassador.io',
    versions: ['v3alpha1', 'v2'],
    namespaced: true,
    optional: true,
  },
  Module: {
    kind: 'Module',
    resource: 'modules',
    group: 'getambassador.io',
    versions: ['v3alpha1', 'v2'],
    namespaced: true,
    optional: true,
  },
} as const satisfies Record<string, KindSpec>;

export type KindName = keyof typeof Kinds;

/** Everything the source watches by default (Secrets wait for the TLS work). */
export const kDefaultKinds: readonly KindName[] = [
  'Service',
  'EndpointSlice',
  'Ingress',
  'IngressClass',
  'Mapping',
  'Module',
];
