/**
 * The IR build: `ResourceSet` → `Ir`. Entry point of the IR stage.
 *
 * Called by the reconciler and by `legate validate` with the whole current resource set (never a
 * diff). A fresh IR per call, from ordered processors (Contour's DAG builder shape):
 *   module → services (cluster registry) → ingress (routes from Ingresses) → mappings (validate,
 *   group, weigh, order; the Ingress routes join this one ordering step).
 * Contract: pure and deterministic (same input → byte-identical output), no I/O, never throws;
 * every finding is a `Condition` on the object that caused it (critical = left out), and the
 * returned `statuses` hold every input status with those conditions merged in.
 */
import type { ResourceMeta, ResourceSet } from '../resources/types.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import { processIngresses } from './processors/ingress.js';
import { processMappings } from './processors/mappings.js';
import { processModules } from './processors/module.js';
import { ClusterRegistry } from './processors/services.js';
import { ConditionAccumulator } from './status.js';
import type { Ir } from './types.js';

export interface BuildIrOptions {
  /** This gateway's `--ambassador-id`. */
  readonly ambassadorId: string;
  /** The gateway's own namespace (namespace defaulting, §1.5); default "default". */
  readonly namespace?: string;
}

export function buildIr(resources: ResourceSet, opts: BuildIrOptions): Ir {
  const gatewayNamespace = opts.namespace ?? 'default';
  const acc = new ConditionAccumulator();
  const module = processModules(resources.modules, { gatewayNamespace, acc });
  const clusters = new ClusterRegistry({
    services: resources.services,
    endpointSlices: resources.endpointSlices,
    gatewayNamespace,
    useAmbassadorNamespace: module.useAmbassadorNamespaceForServiceResolution,
  });
  const ingressRoutes = processIngresses(resources.ingresses ?? [], { module, clusters, acc });
  const routes = processMappings(resources.mappings, { module, clusters, acc }, ingressRoutes);

  const metas: ResourceMeta[] = [
    ...resources.modules,
    ...resources.mappings,
    ...resources.services,
    ...resources.endpointSlices,
    ...(resources.ingresses ?? []),
    ...(resources.ingressClasses ?? []),
  ];
  return {
    hash: hashInput(resources, opts.ambassadorId, gatewayNamespace),
    ambassadorId: opts.ambassadorId,
    settings: module.settings,
    routes,
    clusters: clusters.clusters(),
    statuses: acc.statuses(resources.statuses, metas),
  };
}

/**
 * sha256 over the canonical JSON of everything the build reads, locations included (they show in
 * statuses, so a moved object must not be skipped as "unchanged").
 */
export function hashInput(resources: ResourceSet, ambassadorId: string, namespace: string): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      ambassadorId,
      namespace,
      mappings: resources.mappings,
      modules: resources.modules,
      services: resources.services,
      endpointSlices: resources.endpointSlices,
      ingresses: resources.ingresses ?? [],
      ingressClasses: resources.ingressClasses ?? [],
      statuses: resources.statuses,
    }),
  );
}
