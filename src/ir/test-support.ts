/**
 * Builders for hand-made `ResourceSet`s in IR unit tests (no YAML, no resources stage).
 * Test-only; nothing in the gateway imports it.
 */

import type { EndpointSliceSpec, ServiceSpec } from '../resources/schemas/core/types.js';
import type { MappingSpec } from '../resources/schemas/getambassador.io/mapping.js';
import type { ModuleSpec } from '../resources/schemas/getambassador.io/module.js';
import type {
  EndpointSliceResource,
  MappingResource,
  ModuleResource,
  ResourceSet,
  ServiceResource,
} from '../resources/types.js';

type Meta = { name: string; namespace?: string; apiVersion?: string };

function meta(kind: string, m: Meta) {
  const namespace = m.namespace ?? 'default';
  return {
    key: `${kind}/${namespace}/${m.name}`,
    apiVersion: m.apiVersion ?? 'getambassador.io/v3alpha1',
    name: m.name,
    namespace,
    labels: {},
    location: { source: 'test' },
  };
}

export function mapping(m: Meta, spec: Partial<MappingSpec>): MappingResource {
  return {
    ...meta('Mapping', m),
    kind: 'Mapping',
    spec: { prefix: '/', service: 'web.example.com', hostname: '*', ...spec } as MappingSpec,
  };
}

export function module(m: Meta, spec: ModuleSpec): ModuleResource {
  return { ...meta('Module', m), kind: 'Module', spec };
}

export function service(m: Meta, spec: ServiceSpec): ServiceResource {
  return { ...meta('Service', m), apiVersion: 'v1', kind: 'Service', spec };
}

export function slice(m: Meta & { service: string }, spec: EndpointSliceSpec): EndpointSliceResource {
  return {
    ...meta('EndpointSlice', m),
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    serviceName: m.service,
    spec,
  };
}

export function resourceSet(
  parts: Partial<Omit<ResourceSet, 'statuses'>> & Pick<Partial<ResourceSet>, 'statuses'>,
): ResourceSet {
  return {
    mappings: parts.mappings ?? [],
    modules: parts.modules ?? [],
    services: parts.services ?? [],
    endpointSlices: parts.endpointSlices ?? [],
    ...(parts.ingresses ? { ingresses: parts.ingresses } : {}),
    ...(parts.ingressClasses ? { ingressClasses: parts.ingressClasses } : {}),
    statuses: parts.statuses ?? [],
  };
}
