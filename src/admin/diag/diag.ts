/**
 * The /diag JSON document: every resource with its location, state and conditions; the errors
 * list (Emissary's `errors` shape: key and message); the route table in evaluation order; the
 * clusters with their endpoints; the live configuration's hash and the reconcile statistics.
 * Pure: built from the IR and the state the composition root passes in.
 */
import type { Ir } from '../../ir/types.js';
import { formatLocation } from '../../resources/key.js';
import { describeRoutes } from './routes.js';

export interface DiagInput {
  readonly ir: Ir | null;
  readonly ambassadorId: string;
  readonly bootTime: Date;
  readonly ready: boolean;
  readonly readyReason: string;
  readonly lastError: string | null;
  readonly dataPlanes: { expected: number; current: number; serving: number; hash: string | null };
  readonly reconcile: unknown;
  readonly version: string;
}

export function buildDiag(input: DiagInput): Record<string, unknown> {
  const ir = input.ir;
  const resources =
    ir?.statuses.map((s) => ({
      key: s.key,
      kind: s.kind,
      apiVersion: s.apiVersion,
      namespace: s.namespace,
      name: s.name,
      location: formatLocation(s.location),
      state: s.state,
      conditions: s.conditions,
    })) ?? [];
  const errors: { key: string; location: string; field?: string; message: string; critical: boolean }[] = [];
  for (const s of ir?.statuses ?? []) {
    for (const c of s.conditions) {
      if (s.state === 'Ignored' && !c.critical) continue;
      errors.push({
        key: s.key,
        location: formatLocation(s.location, c.field),
        ...(c.field ? { field: c.field } : {}),
        message: c.message,
        critical: c.critical,
      });
    }
  }
  return {
    system: {
      version: input.version,
      ambassador_id: input.ambassadorId,
      boot_time: input.bootTime.toISOString(),
      uptime_s: Math.round((Date.now() - input.bootTime.getTime()) / 1000),
    },
    status: {
      ready: input.ready,
      reason: input.ready ? null : input.readyReason,
      config_hash: ir?.hash ?? null,
      last_error: input.lastError,
      data_planes: input.dataPlanes,
      reconcile: input.reconcile,
    },
    errors,
    resources,
    routes: ir ? describeRoutes(ir) : [],
    clusters:
      ir?.clusters.map((c) => ({
        id: c.id,
        service: c.service,
        scheme: c.scheme,
        resolution: c.resolution,
        endpoints: c.endpoints.map((e) => `${e.address}:${e.port}`),
      })) ?? [],
    settings: ir?.settings ?? null,
  };
}
