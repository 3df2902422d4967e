/**
 * Every schema Legate validates against, by API group, kind and version (versions as written after
 * `ambassador/` is read as `getambassador.io/`). The one table `resources/build.ts` and, later, the
 * CRD generator read; adding a version here is what makes it accepted.
 */
import type { TSchema } from '@sinclair/typebox';
import { EndpointSliceSpec, ServiceSpec } from './core/types.js';
import { MappingSpec } from './getambassador.io/mapping.js';
import { MappingV0Spec, MappingV2Spec } from './getambassador.io/mapping-v2.js';
import { ModuleSpec } from './getambassador.io/module.js';
import { ModuleLegacySpec } from './getambassador.io/module-legacy.js';
import { IngressClassSpec, IngressSpec } from './networking.k8s.io/ingress.js';

export const AmbassadorGroup = 'getambassador.io';

/** getambassador.io kinds Legate serves: kind → version → spec schema. */
export const kAmbassadorSchemas: Readonly<Record<string, Readonly<Record<string, TSchema>>>> = {
  Mapping: { v3alpha1: MappingSpec, v2: MappingV2Spec, v1: MappingV2Spec, v0: MappingV0Spec },
  Module: { v3alpha1: ModuleSpec, v2: ModuleLegacySpec, v1: ModuleLegacySpec, v0: ModuleLegacySpec },
};

/** Kubernetes kinds Legate serves: `apiVersion kind` → schema of the part it reads. */
export const kCoreSchemas: Readonly<Record<string, TSchema>> = {
  'v1 Service': ServiceSpec,
  'discovery.k8s.io/v1 EndpointSlice': EndpointSliceSpec,
  'discovery.k8s.io/v1beta1 EndpointSlice': EndpointSliceSpec,
  'networking.k8s.io/v1 Ingress': IngressSpec,
  'networking.k8s.io/v1 IngressClass': IngressClassSpec,
};

/** getambassador.io kinds that exist in Emissary but are not served yet (ignored with a note). */
export const kAmbassadorKindsNotServed: ReadonlySet<string> = new Set([
  'Host',
  'Listener',
  'TLSContext',
  'AuthService',
  'RateLimitService',
  'TracingService',
  'LogService',
  'TCPMapping',
  'KubernetesServiceResolver',
  'KubernetesEndpointResolver',
  'ConsulResolver',
  'DevPortal',
]);

/**
 * Kubernetes kinds Legate will read in later work (ignored with a "not served yet" note). Ingress
 * and IngressClass stay listed for their older apiVersions.
 */
export const kKubernetesKindsNotServed: ReadonlySet<string> = new Set([
  'Ingress',
  'IngressClass',
  'Secret',
  'Endpoints',
  'ConfigMap',
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'GRPCRoute',
  'TLSRoute',
  'TCPRoute',
  'ReferenceGrant',
]);

export {
  EndpointSliceSpec,
  IngressClassSpec,
  IngressSpec,
  MappingSpec,
  MappingV0Spec,
  MappingV2Spec,
  ModuleLegacySpec,
  ModuleSpec,
  ServiceSpec,
};
