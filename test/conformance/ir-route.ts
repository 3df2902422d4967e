/**
 * Hand-built IR for snapshot tests: routes, whole IRs and match requests with sensible defaults.
 * Test support only (used by test/conformance and src/snapshot unit tests).
 */

import { DEFAULT_SETTINGS } from '../../src/ir/processors/module.js';
import type {
  Ir,
  IrHostMatch,
  IrPathMatch,
  IrRedirect,
  IrRewrite,
  IrRoute,
  IrSettings,
  IrShadow,
  IrTarget,
  IrValueMatch,
} from '../../src/ir/types.js';
import type { MatchRequest } from '../../src/snapshot/types.js';

export interface RouteSpec {
  /** A bare string is a case-sensitive prefix. */
  readonly path?: string | Partial<IrPathMatch>;
  readonly host?: IrHostMatch;
  readonly method?: { readonly value: string; readonly regex: boolean };
  readonly headers?: readonly IrValueMatch[];
  readonly query?: readonly IrValueMatch[];
  readonly precedence?: number;
  readonly rewrite?: IrRewrite | null;
  readonly redirect?: IrRedirect | null;
  readonly shadow?: IrShadow | null;
  readonly targets?: readonly Partial<IrTarget>[];
}

export function target(partial: Partial<IrTarget> = {}): IrTarget {
  return {
    mapping: 'Mapping/default/m',
    threshold: 100,
    weight: 100,
    cluster: 'cluster-a',
    rewrite: null,
    hostRewrite: null,
    timeoutMs: 3000,
    idleTimeoutMs: 0,
    addRequestHeaders: [],
    removeRequestHeaders: [],
    addResponseHeaders: [],
    removeResponseHeaders: [],
    ...partial,
  };
}

export function irRoute(order: number, spec: RouteSpec = {}): IrRoute {
  const path: IrPathMatch =
    typeof spec.path === 'string' || spec.path === undefined
      ? { kind: 'prefix', value: spec.path ?? '/', caseSensitive: true }
      : { kind: 'prefix', value: '/', caseSensitive: true, ...spec.path };
  const redirect = spec.redirect ?? null;
  const targets =
    redirect !== null
      ? []
      : (spec.targets ?? [{}]).map((t) => target({ rewrite: spec.rewrite ?? null, ...t }));
  return {
    id: `route-${order}`,
    order,
    precedence: spec.precedence ?? 0,
    match: {
      path,
      host: spec.host ?? { kind: 'any' },
      ...(spec.method === undefined ? {} : { method: spec.method }),
      headers: spec.headers ?? [],
      query: spec.query ?? [],
    },
    targets,
    redirect,
    shadow: spec.shadow ?? null,
    sources: [`Mapping/default/m${order}`],
  };
}

export const defaultSettings: IrSettings = { ...DEFAULT_SETTINGS, listenerIdleTimeoutMs: 0 };

export function irOf(routes: readonly IrRoute[]): Ir {
  return {
    hash: `hash-${routes.length}`,
    ambassadorId: 'default',
    settings: defaultSettings,
    routes,
    clusters: [
      {
        id: 'cluster-a',
        service: 'a:80',
        scheme: 'http',
        resolution: 'static',
        endpoints: [{ address: '127.0.0.1', port: 80 }],
        connectTimeoutMs: 3000,
        idleTimeoutMs: 0,
        maxConnectionLifetimeMs: 0,
        authority: 'a:80',
      },
    ],
    statuses: [],
  };
}

export interface RequestSpec {
  readonly method?: string;
  /** Authority as sent; `host` defaults to it lower-cased without the port. */
  readonly authority?: string;
  readonly host?: string;
  readonly path?: string;
  readonly query?: string;
  readonly headers?: Record<string, string | string[] | undefined>;
}

export function request(spec: RequestSpec = {}): MatchRequest {
  const authority = spec.authority ?? spec.host ?? 'example.com';
  return {
    method: spec.method ?? 'GET',
    authority,
    host: spec.host ?? stripPort(authority).toLowerCase(),
    path: spec.path ?? '/',
    query: spec.query ?? '',
    headers: spec.headers ?? {},
  };
}

function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    return close === -1 ? authority : authority.slice(0, close + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}
