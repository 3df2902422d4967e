/**
 * Ingress processor: networking.k8s.io/v1 Ingresses (already selected by class in the resources
 * stage) → routes that join the Mapping routes' single ordering step.
 *
 * Called by `ir/build.ts` after the services registry exists and before `processMappings`, which
 * takes the result as `extra` and sorts everything by one weight (Emissary's route weight, §3.1).
 * Pure; every finding is a non-critical condition on the Ingress (key `Ingress/ns/name`) with the
 * Kubernetes field path (`spec.rules[0].http.paths[1].backend.service.port.name`); a path that
 * cannot be served is left out, the rest of the Ingress still is.
 *
 * Why routes are built here rather than as synthetic Mappings: Ingress semantics differ from a
 * Mapping's in exactly the places the Mapping pipeline decides (path matching, rewrite, ordering
 * length, canary grouping), so synthetic Mappings would need overrides at each of them and their
 * findings would need re-keying from Mapping fields to Ingress fields. What must be shared is the
 * order, and it is: one sort, one weight function (`routeWeight`), one cluster registry.
 *
 * Semantics (Kubernetes networking/v1, reference kubernetes.md §5):
 * - Exact: the whole path, case-sensitive (`exact` path match).
 * - Prefix: element-wise. `/aaa/bbb` matches `/aaa/bbb`, `/aaa/bbb/` and `/aaa/bbb/ccc`, never
 *   `/aaa/bbbxyz`; a trailing `/` is ignored on both sides; `/` matches everything. Expressed as
 *   the full-match regex `<escaped path>(?:/.*)?`, which the route table indexes under its literal
 *   leading text (so it stays a radix lookup), and as a plain `/` prefix for `/`.
 * - ImplementationSpecific: Prefix semantics (the only one Legate has; a missing path means `/`).
 * - Hosts: exact (lower-case, port ignored); `*.foo.com` matches exactly one more label: indexed
 *   as the suffix `.foo.com` plus an `:authority` regex that admits one label before it;
 *   no host = any host.
 * - The path goes upstream unchanged (no rewrite; unlike a Mapping's default `rewrite: /`).
 * - Order: the Mapping weight with the Ingress path's own text as the "prefix" (trailing `/`
 *   removed), so the longest path wins, then the longer host (an exact host always beats a
 *   wildcard that covers it), and at a full tie an Exact path sorts before a Prefix path (its
 *   weight carries one more element). Mixed with Mappings, an Ingress path ranks like a Mapping
 *   whose prefix has the same length and whose hostname is the rule host (`*` without a host).
 * - `spec.defaultBackend`: prefix `/` on each host the Ingress's rules name, or on every host when
 *   it has no rules or a rule without host; always below every other route (lowest weight).
 * - The same route (host, Exact vs Prefix-like, path) from several Ingresses: the oldest Ingress
 *   (`metadata.creationTimestamp`, then namespace/name; objects without a timestamp, as in files,
 *   after those with one) serves it; the others get `RouteConflict` for that path.
 * - Backends: `service.port.number` goes through the registry exactly as a Mapping's
 *   `name.namespace:port` does (unknown Service → its DNS name, with a `ServiceNotFound`
 *   warning; port missing → the route answers 503).
 *   `service.port.name` is resolved through `Service.spec.ports[].name` (then the registry maps
 *   the port to EndpointSlice ports by name); without the Service or the named port the path is
 *   left out (`ServiceNotFound`/`ServicePortNotFound`), because no port number exists to send to.
 *   `backend.resource` is `Unsupported`. `spec.tls` is reported `Unsupported` until TLS lands;
 *   its hosts are still routed over plain HTTP.
 */
import type { HTTPIngressPath, IngressBackend } from '../../resources/schemas/networking.k8s.io/ingress.js';
import { type Condition, type IngressResource, Reason } from '../../resources/types.js';
import { sha256Hex } from '../canonical.js';
import type { ConditionAccumulator } from '../status.js';
import type { IrHeaderAdd, IrHostMatch, IrMatch, IrPathMatch, IrTarget, IrValueMatch } from '../types.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  type OrderedRoute,
  routeWeight,
  type WeightKey,
} from './mappings.js';
import type { ModuleContext } from './module.js';
import { type ClusterRegistry, parseService } from './services.js';

/** Precedence used in the default backends' weight only: below any precedence a Mapping can have. */
const kDefaultBackendPrecedence = Number.MIN_SAFE_INTEGER;
/** Trailing weight element that puts an Exact path before an otherwise equal Prefix path. */
const kExactMarker = '~exact';

interface Ctx {
  readonly module: ModuleContext;
  readonly clusters: ClusterRegistry;
  readonly acc: ConditionAccumulator;
}

interface HostForm {
  /** As written, lower-case; '' for any host. */
  readonly text: string;
  readonly host: IrHostMatch;
  readonly headers: readonly IrValueMatch[];
}

export function processIngresses(ingresses: readonly IngressResource[], ctx: Ctx): OrderedRoute[] {
  const out: OrderedRoute[] = [];
  /** Route identity → the field that claimed it (`Ingress/ns/name spec.rules[0]…`). */
  const claimed = new Map<string, { key: string; field: string }>();
  for (const ing of oldestFirst(ingresses)) {
    try {
      processOne(ing, ctx, claimed, out);
    } catch (err) {
      ctx.acc.add(ing.key, {
        reason: Reason.InvalidField,
        message: `internal error while reading this Ingress: ${err instanceof Error ? err.message : String(err)}`,
        critical: true,
      });
    }
  }
  return out;
}

/** Oldest first: creationTimestamp ascending (absent last), then namespace, then name. */
export function oldestFirst(ingresses: readonly IngressResource[]): IngressResource[] {
  const time = (i: IngressResource) => {
    const t = i.creationTimestamp === undefined ? Number.NaN : Date.parse(i.creationTimestamp);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  return [...ingresses].sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

function processOne(
  ing: IngressResource,
  ctx: Ctx,
  claimed: Map<string, { key: string; field: string }>,
  out: OrderedRoute[],
): void {
  const { acc } = ctx;
  const spec = ing.spec;
  const note = (c: Condition) => acc.add(ing.key, c);

  const tls = spec.tls ?? [];
  for (let i = 0; i < tls.length; i++) {
    const t = tls[i];
    const hosts = t.hosts && t.hosts.length > 0 ? t.hosts.join(', ') : 'every host';
    note({
      reason: Reason.Unsupported,
      field: t.secretName ? `spec.tls[${i}].secretName` : `spec.tls[${i}]`,
      message: `TLS termination for Ingresses is not served yet${t.secretName ? `: Secret "${t.secretName}" is not used` : ''}; ${hosts} ${t.hosts && t.hosts.length === 1 ? 'is' : 'are'} served over plain HTTP only`,
      critical: false,
    });
  }

  const emit = (o: {
    identity: string;
    field: string;
    host: HostForm;
    path: IrPathMatch;
    weight: WeightKey;
    backend: IngressBackend;
    backendField: string;
  }) => {
    const prior = claimed.get(o.identity);
    if (prior) {
      note({
        reason: Reason.RouteConflict,
        field: o.field,
        message: `${prior.field} of ${prior.key === ing.key ? 'this Ingress' : `${prior.key} (older)`} already routes the same host and path; this one is not used`,
        critical: false,
      });
      return;
    }
    const cluster = resolveBackend(ing, o.backend, o.backendField, ctx);
    if (cluster === null) return;
    claimed.set(o.identity, { key: ing.key, field: o.field });
    const match: IrMatch = { path: o.path, host: o.host.host, headers: o.host.headers, query: [] };
    out.push({
      route: {
        id: sha256Hex(JSON.stringify(['Ingress', o.identity]), 16),
        precedence: 0,
        match,
        targets: [target(ing.key, cluster, ctx.module)],
        redirect: null,
        shadow: null,
        sources: [ing.key],
      },
      weight: o.weight,
    });
  };

  const rules = spec.rules ?? [];
  const defaultHosts = new Map<string, HostForm>();
  let everyHost = rules.length === 0;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    const host = hostForm(rule.host ?? '');
    if (host.text === '') everyHost = true;
    else defaultHosts.set(host.text, host);
    const paths = rule.http?.paths ?? [];
    for (let j = 0; j < paths.length; j++) {
      const p = paths[j];
      const field = `spec.rules[${i}].http.paths[${j}]`;
      const pm = pathForm(p);
      emit({
        identity: JSON.stringify([host.text, pm.exact ? 'Exact' : 'Prefix', pm.text]),
        field,
        host,
        path: pm.path,
        weight: weightFor({ precedence: 0, path: pm.text, host: host.text, exact: pm.exact }),
        backend: p.backend,
        backendField: `${field}.backend`,
      });
    }
  }

  if (spec.defaultBackend) {
    const hosts = everyHost ? [hostForm('')] : [...defaultHosts.values()];
    for (const host of hosts)
      emit({
        identity: JSON.stringify([host.text, 'default']),
        field: 'spec.defaultBackend',
        host,
        path: { kind: 'prefix', value: '/', caseSensitive: true },
        weight: weightFor({
          precedence: kDefaultBackendPrecedence,
          path: '/',
          host: host.text,
          exact: false,
        }),
        backend: spec.defaultBackend,
        backendField: 'spec.defaultBackend',
      });
  }
}

/** A rule host → its IR host match (see the module header for the one-label wildcard). */
export function hostForm(raw: string): HostForm {
  const text = raw.toLowerCase();
  if (text === '') return { text, host: { kind: 'any' }, headers: [] };
  if (!text.startsWith('*.')) return { text, host: { kind: 'exact', value: text }, headers: [] };
  const suffix = text.slice(1);
  const labels = suffix.split('.').length - 1;
  return {
    text,
    host: { kind: 'suffix', value: suffix },
    headers: [
      { name: ':authority', kind: 'regex', value: `[^.:]+${'\\.[^.:]+'.repeat(labels)}(?::[0-9]+)?` },
    ],
  };
}

/** An Ingress path → IR path match, the text it ranks by, and whether it is Exact. */
export function pathForm(p: Pick<HTTPIngressPath, 'path' | 'pathType'>): {
  path: IrPathMatch;
  text: string;
  exact: boolean;
} {
  const raw = p.path === undefined || p.path === '' ? '/' : p.path;
  if (p.pathType === 'Exact')
    return { path: { kind: 'exact', value: raw, caseSensitive: true }, text: raw, exact: true };
  let text = raw;
  while (text.length > 1 && text.endsWith('/')) text = text.slice(0, -1);
  if (text === '/') return { path: { kind: 'prefix', value: '/', caseSensitive: true }, text, exact: false };
  return {
    path: { kind: 'regex', value: `${escapeRegex(text)}(?:/.*)?`, caseSensitive: true },
    text,
    exact: false,
  };
}

function weightFor(o: { precedence: number; path: string; host: string; exact: boolean }): WeightKey {
  const w = routeWeight({
    precedence: o.precedence,
    prefix: o.path,
    method: undefined,
    headers: [{ name: ':authority', value: o.host === '' ? '*' : o.host, regex: false }],
    query: [],
  });
  return o.exact ? [...w, kExactMarker] : w;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The backend's cluster id, or null (with a condition) when the path cannot be served. */
function resolveBackend(ing: IngressResource, b: IngressBackend, field: string, ctx: Ctx): string | null {
  const note = (c: Condition) => ctx.acc.add(ing.key, c);
  if (!b.service) {
    const r = b.resource;
    note({
      reason: Reason.Unsupported,
      field: `${field}.resource`,
      message: `resource backends are not supported (${r ? `${r.apiGroup ? `${r.apiGroup}/` : ''}${r.kind} "${r.name}"` : 'resource'}); this path is not served`,
      critical: false,
    });
    return null;
  }
  const svc = b.service;
  let port = svc.port.number;
  const portName = svc.port.name;
  if (port === undefined && portName !== undefined) {
    const found = ctx.clusters.findService(ing.namespace, svc.name);
    if (!found) {
      note({
        reason: Reason.ServiceNotFound,
        field: `${field}.service.name`,
        message: `no Service "${svc.name}" in namespace "${ing.namespace}", so port "${portName}" cannot be resolved; this path is not served`,
        critical: false,
      });
      return null;
    }
    const sp = (found.spec.ports ?? []).find((x) => x.name === portName);
    if (!sp) {
      const names = (found.spec.ports ?? []).map((x) => x.name ?? `(unnamed ${x.port})`).join(', ') || 'none';
      note({
        reason: Reason.ServicePortNotFound,
        field: `${field}.service.port.name`,
        message: `Service ${ing.namespace}/${svc.name} has no port named "${portName}" (ports: ${names}); this path is not served`,
        critical: false,
      });
      return null;
    }
    port = sp.port;
  }
  if (portName === undefined && !ctx.clusters.findService(ing.namespace, svc.name))
    note({
      reason: Reason.ServiceNotFound,
      field: `${field}.service.name`,
      message: `no Service "${svc.name}" in namespace "${ing.namespace}" (yet); sending to the DNS name ${svc.name}.${ing.namespace}:${port}, resolved at connect time`,
      critical: false,
    });
  const service = `${svc.name}.${ing.namespace}:${port}`;
  const parsed = parseService(service);
  if ('error' in parsed) {
    note({
      reason: Reason.InvalidField,
      field: `${field}.service.name`,
      message: `"${svc.name}" is not a usable Service name: ${parsed.error}; this path is not served`,
      critical: false,
    });
    return null;
  }
  const m = ctx.module;
  const { id, conditions } = ctx.clusters.clusterFor({
    service,
    parsed,
    mappingNamespace: ing.namespace,
    policy: {
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: m.clusterIdleTimeoutMs,
      maxConnectionLifetimeMs: m.clusterMaxConnectionLifetimeMs,
      clusterTag: null,
    },
  });
  const portField = `${field}.service.port.${portName !== undefined ? 'name' : 'number'}`;
  for (const c of conditions)
    note({
      ...c,
      field: c.reason === Reason.ServicePortNotFound ? portField : `${field}.service.name`,
    });
  return id;
}

function target(key: string, cluster: string, m: ModuleContext): IrTarget {
  const d = m.defaults;
  return {
    mapping: key,
    threshold: 100,
    weight: 100,
    cluster,
    rewrite: null,
    hostRewrite: null,
    timeoutMs: m.requestTimeoutMs,
    idleTimeoutMs: DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    addRequestHeaders: adds(d.add_request_headers),
    removeRequestHeaders: lower(d.remove_request_headers),
    addResponseHeaders: adds(d.add_response_headers),
    removeResponseHeaders: lower(d.remove_response_headers),
  };
}

function adds(h: Readonly<Record<string, { value: string; append?: boolean }>> | undefined): IrHeaderAdd[] {
  const out = new Map<string, IrHeaderAdd>();
  for (const [raw, v] of Object.entries(h ?? {})) {
    const name = raw.toLowerCase();
    out.delete(name);
    out.set(name, { name, value: v.value, append: v.append ?? true });
  }
  return [...out.values()];
}

function lower(names: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const n of names ?? []) if (!out.includes(n.toLowerCase())) out.push(n.toLowerCase());
  return out;
}
