/**
 * Mapping processor: validated Mappings → canary groups → ordered routes.
 *
 * Called by `ir/build.ts` after the Module processor. Pure; all findings go to the accumulator.
 * Phases, in order (Emissary's IRHTTPMapping / IRHTTPMappingGroup, reference §2, §3, §8):
 *   1. prepare   each Mapping alone: match, host, method, regexes, rewrite, redirect fields,
 *                service grammar, group id and route weight. Critical finding → left out.
 *                No host association (§8.7) → `NotServed` warning, left out of routing.
 *   2. group     by group id, in input order. `CoreMappingKeys` must agree (`GroupMismatch`,
 *                the newer Mapping is rejected); at most one shadow and one host_redirect, and
 *                redirect and non-redirect Mappings never mix.
 *   3. weights   cumulative thresholds (§3.2); a total above 100 drops the group (`WeightOverflow`).
 *   4. emit      targets (clusters resolved here), redirect, shadow.
 *   5. order     by group weight, largest first (§3.1); `order` = index.
 *
 * Decisions where the reference is silent or Emissary's behaviour cannot be represented:
 * - Group identity sorts header and query matchers by name, so `{a, b}` and `{b, a}` are one group
 *   (Emissary hashes them in written order and would build two identical, shadowing groups).
 * - Keys that shape the shared match (path kind, case_sensitive, headers incl. host and method,
 *   query) must be exactly equal within a group: one IrRoute has one match. The policy keys of
 *   Emissary's CoreMappingKeys follow its own rule: a Mapping that *sets* a key the group's first
 *   Mapping left unset or set differently is rejected.
 * - Weighted Mappings totalling less than 100 with no weightless one: Emissary leaves a gap through
 *   which requests fall to later routes; Legate gives the remainder to the last target (its
 *   threshold is 100, as IrTarget requires) and says so in a warning.
 * - Weightless shares use Python's round-half-to-even, as Emissary does (12.5 → 12).
 * - `add_*_headers` are merged across the group in input order (later wins); `remove_*_headers`
 *   are group-level, last Mapping that has them wins (Emissary flattening). Every target carries
 *   the group's values.
 * - `regex_rewrite` is applied per Mapping (Emissary flattens it onto the whole group).
 * - Text the data plane writes verbatim into a head (the rewrite and redirect path in use,
 *   `host_rewrite`, the Mapping's own header adds and removes) is checked by `wire.ts` here, once;
 *   a finding rejects the Mapping (`InvalidField`, the field named in the message). The rules are
 *   stricter than Envoy's route validation because Legate's upstream client checks only the
 *   request target per request, not header names or values.
 * - A hostname with a `:port` suffix cannot be matched against the port-less host the route table
 *   sees; it becomes a `regex` host match over the authority as sent (port included), lower-case,
 *   which is what Emissary's `:authority` header match does.
 * - `method` is upper-cased (methods are case-sensitive tokens; a lower-case method never matches
 *   in Emissary), with a warning when that changed it.
 * - A redirect's `service` is not namespace-qualified: it is a public host name.
 * - Ties between groups with equal sort keys are broken by group id, so order never depends on
 *   input order.
 */
import type { HeaderToAdd, MappingSpec } from '../../resources/schemas/getambassador.io/mapping.js';
import { type Condition, type MappingResource, Reason } from '../../resources/types.js';
import { canonicalJson, sha256Hex } from '../canonical.js';
import { regexError } from '../regex.js';
import type { ConditionAccumulator } from '../status.js';
import type {
  IrHeaderAdd,
  IrHostMatch,
  IrMatch,
  IrPathMatch,
  IrRedirect,
  IrRewrite,
  IrRoute,
  IrShadow,
  IrTarget,
  IrValueMatch,
} from '../types.js';
import type { ModuleContext } from './module.js';
import { type ClusterRegistry, type ParsedService, parseService } from './services.js';
import {
  headerAddErrors,
  headerRemoveErrors,
  hostRewriteError,
  targetTextError,
  type WireFinding,
} from './wire.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
/** Envoy's HCM `stream_idle_timeout` default, which applies when a Mapping sets no idle_timeout_ms. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

/** One matcher as Emissary's route weight and group id see it (`KeyValueDecorator`). */
interface KeyValue {
  readonly name: string;
  readonly value: string;
  readonly regex: boolean;
}

/** Emissary's route weight (§3.1), compared element by element, largest first. */
export type WeightKey = readonly (number | string)[];

/** A route built elsewhere (the Ingress processor) that joins the one ordering step below. */
export interface OrderedRoute {
  readonly route: Omit<IrRoute, 'order'>;
  readonly weight: WeightKey;
}

interface Prepared {
  readonly res: MappingResource;
  readonly key: string;
  readonly spec: MappingSpec;
  readonly match: IrMatch;
  readonly groupId: string;
  readonly weightKey: WeightKey;
  /** Header (incl. host and method) and query matchers, sorted; see `matchIdentity`. */
  readonly sortedKv: readonly KeyValue[];
  readonly sortedQkv: readonly KeyValue[];
  readonly parsedService: ParsedService;
  readonly rewrite: IrRewrite | null;
  readonly isShadow: boolean;
  readonly isRedirect: boolean;
  readonly redirectPath: IrRedirect['path'];
  readonly addRequestHeaders: Readonly<Record<string, HeaderToAdd>> | undefined;
  readonly addResponseHeaders: Readonly<Record<string, HeaderToAdd>> | undefined;
  readonly removeRequestHeaders: readonly string[] | undefined;
  readonly removeResponseHeaders: readonly string[] | undefined;
}

/** Emissary CoreMappingKeys that are policy, not match (see the header comment). */
const kPolicyCoreKeys = [
  'bypass_auth',
  'bypass_error_response_overrides',
  'circuit_breakers',
  'connect_timeout_ms',
  'cluster_idle_timeout_ms',
  'cluster_max_connection_lifetime_ms',
  'keepalive',
  'labels',
  'load_balancer',
] as const;

/** Mapping fields that are accepted but not acted on yet; each use gets an `Ignored` note. */
const kNotActedOn = [
  'tls',
  'grpc',
  'resolver',
  'dns_type',
  'respect_dns_ttl',
  'enable_ipv4',
  'enable_ipv6',
  'load_balancer',
  'circuit_breakers',
  'retry_policy',
  'keepalive',
  'health_checks',
  'auto_host_rewrite',
  'add_linkerd_headers',
  'cors',
  'bypass_auth',
  'auth_context_extensions',
  'labels',
  'allow_upgrade',
  'use_websocket',
  'priority',
  'bypass_error_response_overrides',
  'error_response_overrides',
  'stats_name',
] as const;

export function processMappings(
  mappings: readonly MappingResource[],
  ctx: { module: ModuleContext; clusters: ClusterRegistry; acc: ConditionAccumulator },
  /** Routes from other kinds (Ingress), ordered together with the Mappings' by their weights. */
  extra: readonly OrderedRoute[] = [],
): IrRoute[] {
  const { acc } = ctx;
  // 1. prepare
  const groups = new Map<string, Prepared[]>();
  for (const m of mappings) {
    let p: Prepared | null;
    try {
      p = prepare(m, ctx.module, acc);
    } catch (err) {
      acc.add(m.key, {
        reason: Reason.InvalidField,
        message: `internal error while reading this Mapping: ${err instanceof Error ? err.message : String(err)}`,
        critical: true,
      });
      p = null;
    }
    if (!p) continue;
    const list = groups.get(p.groupId);
    if (list) list.push(p);
    else groups.set(p.groupId, [p]);
  }

  // 2–4. group, weigh, emit
  const built: OrderedRoute[] = [...extra];
  for (const [groupId, members] of groups) {
    const route = buildGroup(groupId, members, ctx);
    if (route) built.push(route);
  }

  // 5. order
  built.sort((a, b) => {
    const c = compareWeightKeys(b.weight, a.weight);
    if (c !== 0) return c;
    return a.route.id < b.route.id ? -1 : a.route.id > b.route.id ? 1 : 0;
  });
  return built.map((b, order) => ({ ...b.route, order }));
}

// ---------------------------------------------------------------------------------------------
// 1. prepare

function prepare(m: MappingResource, mod: ModuleContext, acc: ConditionAccumulator): Prepared | null {
  const spec = m.spec;
  const key = m.key;
  let critical = false;
  const add = (c: Condition) => {
    if (c.critical) critical = true;
    acc.add(key, c);
  };
  const checkRegex = (source: string, field: string, what: string) => {
    const err = regexError(source);
    if (err !== null)
      add({
        reason: Reason.InvalidRegex,
        message: `${what} ${JSON.stringify(source)} does not compile: ${err}`,
        field,
        critical: true,
      });
  };

  // path
  const prefix = spec.prefix;
  const precedence = spec.precedence ?? 0;
  const pathKind: IrPathMatch['kind'] = spec.prefix_regex ? 'regex' : spec.prefix_exact ? 'exact' : 'prefix';
  if (pathKind === 'regex') checkRegex(prefix, 'spec.prefix', 'prefix_regex');
  const path: IrPathMatch = { kind: pathKind, value: prefix, caseSensitive: spec.case_sensitive ?? true };

  // headers, in Emissary's order: exact, regex, then synthetic :authority and :method
  const kv: KeyValue[] = [];
  const irHeaders: IrValueMatch[] = [];
  let authorityHeader: string | undefined;
  for (const [rawName, value] of Object.entries(spec.headers ?? {})) {
    const name = rawName.toLowerCase();
    if (name === ':authority') {
      if (value.includes('*'))
        add({
          reason: Reason.InvalidField,
          message: `exact :authority match "${value}" contains *, which can never match; use hostname for globs`,
          field: `spec.headers.${rawName}`,
          critical: true,
        });
      else authorityHeader = value;
      continue;
    }
    kv.push({ name, value, regex: false });
    irHeaders.push({ name, kind: 'exact', value });
  }
  for (const [rawName, value] of Object.entries(spec.regex_headers ?? {})) {
    const name = rawName.toLowerCase();
    checkRegex(value, `spec.regex_headers.${rawName}`, `regex_headers value for ${rawName}`);
    kv.push({ name, value, regex: true });
    irHeaders.push({ name, kind: 'regex', value });
  }

  // host: hostname > host > exact :authority header
  let hostRaw: string | undefined = authorityHeader;
  let hostRegex = false;
  let hostField = 'spec.headers.:authority';
  if (spec.hostname !== undefined && spec.hostname !== '') {
    if (spec.host !== undefined && spec.host !== '')
      add({
        reason: Reason.Ignored,
        message: 'both host and hostname are set; hostname is used and host is ignored',
        field: 'spec.host',
        critical: false,
      });
    hostRaw = spec.hostname;
    hostField = 'spec.hostname';
  } else if (spec.host !== undefined && spec.host !== '') {
    hostRaw = spec.host;
    hostRegex = spec.host_regex ?? false;
    hostField = 'spec.host';
    if (hostRegex) checkRegex(spec.host, 'spec.host', 'host_regex');
    else if (spec.host.includes('*'))
      add({
        reason: Reason.InvalidField,
        message: `exact host "${spec.host}" contains *, which can never match; use hostname for globs, or host_regex`,
        field: 'spec.host',
        critical: true,
      });
  }
  let host: IrHostMatch | null = null;
  if (hostRaw !== undefined && hostRaw !== '') {
    kv.push({ name: ':authority', value: hostRaw, regex: hostRegex });
    const h = hostMatch(hostRaw, hostRegex);
    if ('error' in h)
      add({ reason: Reason.InvalidField, message: h.error, field: hostField, critical: true });
    else host = h;
  }

  // method
  let method: IrMatch['method'];
  if (spec.method !== undefined) {
    const regex = spec.method_regex ?? false;
    const value = regex ? spec.method : spec.method.toUpperCase();
    if (regex) checkRegex(spec.method, 'spec.method', 'method_regex');
    else if (value !== spec.method)
      add({
        reason: Reason.Ignored,
        message: `method "${spec.method}" is matched as "${value}" (HTTP methods are upper-case)`,
        field: 'spec.method',
        critical: false,
      });
    kv.push({ name: ':method', value, regex });
    method = { value, regex };
  }

  // query parameters
  const qkv: KeyValue[] = [];
  const irQuery: IrValueMatch[] = [];
  for (const [name, value] of Object.entries(spec.query_parameters ?? {})) {
    qkv.push({ name, value, regex: false });
    irQuery.push({ name, kind: 'exact', value });
  }
  for (const [name, value] of Object.entries(spec.regex_query_parameters ?? {})) {
    checkRegex(value, `spec.regex_query_parameters.${name}`, `regex_query_parameters value for ${name}`);
    qkv.push({ name, value, regex: true });
    irQuery.push({ name, kind: 'regex', value });
  }

  // shadow / redirect
  const isShadow = spec.shadow === true;
  const isRedirect = spec.host_redirect === true && !isShadow;
  if (isShadow && spec.host_redirect === true)
    add({
      reason: Reason.Ignored,
      message: 'at most one of host_redirect and shadow may be set; shadow wins and host_redirect is ignored',
      field: 'spec.host_redirect',
      critical: false,
    });
  let redirectPath: IrRedirect['path'] = { kind: 'keep' };
  if (isRedirect) {
    if (spec.path_redirect !== undefined) {
      redirectPath = { kind: 'replace', value: spec.path_redirect };
      for (const other of ['prefix_redirect', 'regex_redirect'] as const)
        if (spec[other] !== undefined)
          add({
            reason: Reason.Ignored,
            message: `path_redirect and ${other} are both set; path_redirect is used`,
            field: `spec.${other}`,
            critical: false,
          });
    } else if (spec.prefix_redirect !== undefined) {
      redirectPath = { kind: 'prefix', value: spec.prefix_redirect };
      if (spec.regex_redirect !== undefined)
        add({
          reason: Reason.Ignored,
          message: 'prefix_redirect and regex_redirect are both set; prefix_redirect is used',
          field: 'spec.regex_redirect',
          critical: false,
        });
    } else if (spec.regex_redirect !== undefined) {
      checkRegex(spec.regex_redirect.pattern, 'spec.regex_redirect.pattern', 'regex_redirect pattern');
      redirectPath = {
        kind: 'regex',
        pattern: spec.regex_redirect.pattern,
        substitution: spec.regex_redirect.substitution,
      };
    }
  } else {
    const stray = (
      ['path_redirect', 'prefix_redirect', 'regex_redirect', 'redirect_response_code'] as const
    ).filter((k) => spec[k] !== undefined);
    if (stray.length > 0)
      add({
        reason: Reason.Ignored,
        message: `${stray.join(', ')} only apply${stray.length === 1 ? 'ies' : ''} with host_redirect: true; ignored`,
        field: `spec.${stray[0]}`,
        critical: false,
      });
  }

  // rewrite (§8.1)
  let rewrite: IrRewrite | null;
  if (spec.regex_rewrite !== undefined) {
    checkRegex(spec.regex_rewrite.pattern, 'spec.regex_rewrite.pattern', 'regex_rewrite pattern');
    rewrite = {
      kind: 'regex',
      pattern: spec.regex_rewrite.pattern,
      substitution: spec.regex_rewrite.substitution,
    };
    if (spec.rewrite !== undefined && spec.rewrite !== '' && spec.rewrite !== '/')
      add({
        reason: Reason.Ignored,
        message: 'both rewrite and regex_rewrite are set; regex_rewrite is used and rewrite is ignored',
        field: 'spec.rewrite',
        critical: false,
      });
  } else {
    const r = spec.rewrite ?? '/';
    rewrite = r === '' ? null : { kind: 'prefix', value: r };
  }

  // text the data plane writes verbatim into a head (see wire.ts)
  for (const f of wireFindings(spec, rewrite, redirectPath, isRedirect))
    add({ reason: Reason.InvalidField, message: f.message, field: `spec.${f.field}`, critical: true });

  // service
  const parsed = parseService(spec.service);
  if ('error' in parsed) {
    add({
      reason: Reason.InvalidField,
      message: `service "${spec.service}": ${parsed.error}`,
      field: 'spec.service',
      critical: true,
    });
  }

  // fields accepted for later features
  const notActed = kNotActedOn.filter((k) => spec[k] !== undefined);
  if (notActed.length > 0)
    add({
      reason: Reason.Ignored,
      message: `Legate does not act on these fields yet: ${notActed.join(', ')}`,
      field: `spec.${notActed[0]}`,
      critical: false,
    });

  if (critical || 'error' in parsed) return null;
  if (host === null) {
    add({
      reason: Reason.NotServed,
      message:
        'this Mapping has no hostname (or host), so no Host is associated with it and nothing routes to it ' +
        '(Emissary 2.x+ behaviour for getambassador.io/v3alpha1); add hostname: "*" to serve it on every host',
      field: 'spec.hostname',
      critical: false,
    });
    return null;
  }

  const match: IrMatch = method
    ? { path, host, method, headers: irHeaders, query: irQuery }
    : { path, host, headers: irHeaders, query: irQuery };
  const sortedKv = [...kv].sort(compareKv);
  const sortedQkv = [...qkv].sort(compareKv);
  // Arrays of strings and numbers only, and objects built here with a fixed key order: plain
  // JSON.stringify is already canonical (and several times cheaper than canonicalJson).
  const groupId = sha256Hex(
    JSON.stringify([
      'HTTP',
      method?.value ?? 'GET',
      prefix,
      sortedKv.map((h) => [h.name, h.value]),
      sortedQkv.map((q) => [q.name, q.value]),
      precedence === 0 ? null : precedence,
    ]),
    16,
  );
  const d = mod.defaults;
  return {
    res: m,
    key,
    spec,
    match,
    groupId,
    weightKey: routeWeight({ precedence, prefix, method: method?.value, headers: kv, query: qkv }),
    sortedKv,
    sortedQkv,
    parsedService: parsed,
    rewrite,
    isShadow,
    isRedirect,
    redirectPath,
    addRequestHeaders: spec.add_request_headers ?? d.add_request_headers,
    addResponseHeaders: spec.add_response_headers ?? d.add_response_headers,
    removeRequestHeaders: spec.remove_request_headers ?? d.remove_request_headers,
    removeResponseHeaders: spec.remove_response_headers ?? d.remove_response_headers,
  };
}

/**
 * Everything of one Mapping that reaches a request or response head: the rewrite actually used,
 * the redirect path actually used, `host_rewrite`, and its own header adds and removes (Module
 * defaults were checked by the Module processor). Fields are relative to `spec`.
 */
function wireFindings(
  spec: MappingSpec,
  rewrite: IrRewrite | null,
  redirectPath: IrRedirect['path'],
  isRedirect: boolean,
): WireFinding[] {
  const out: WireFinding[] = [];
  const text = (field: string, value: string, check: (v: string) => string | null) => {
    const err = check(value);
    if (err !== null) out.push({ field, message: `${field}: ${err}` });
  };
  if (rewrite !== null) {
    if (rewrite.kind === 'regex') text('regex_rewrite.substitution', rewrite.substitution, targetTextError);
    else text('rewrite', rewrite.value, targetTextError);
  }
  if (isRedirect) {
    if (redirectPath.kind === 'replace') text('path_redirect', redirectPath.value, targetTextError);
    else if (redirectPath.kind === 'prefix') text('prefix_redirect', redirectPath.value, targetTextError);
    else if (redirectPath.kind === 'regex')
      text('regex_redirect.substitution', redirectPath.substitution, targetTextError);
  }
  if (spec.host_rewrite !== undefined) text('host_rewrite', spec.host_rewrite, hostRewriteError);
  if (spec.add_request_headers !== undefined)
    out.push(...headerAddErrors('add_request_headers', spec.add_request_headers, 'request'));
  if (spec.add_response_headers !== undefined)
    out.push(...headerAddErrors('add_response_headers', spec.add_response_headers, 'response'));
  if (spec.remove_request_headers !== undefined)
    out.push(...headerRemoveErrors('remove_request_headers', spec.remove_request_headers));
  if (spec.remove_response_headers !== undefined)
    out.push(...headerRemoveErrors('remove_response_headers', spec.remove_response_headers));
  return out;
}

/**
 * `hostname`/`host` → IrHostMatch. Globs (reference §2.1): `*` any; leading `*` suffix; trailing `*`
 * prefix; a `*` anywhere else never matches in Emissary, so it is rejected here. A `:port` suffix
 * turns the match into a regex over the authority (see the module header).
 */
export function hostMatch(raw: string, regex: boolean): IrHostMatch | { readonly error: string } {
  if (regex) return { kind: 'regex', value: raw };
  const lower = raw.toLowerCase();
  const pm = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(lower);
  const hostPart = pm ? pm[1] : lower;
  const stars = hostPart.split('*').length - 1;
  const glob = hostPart !== '*' && stars > 0;
  if (stars > 1 || (glob && !hostPart.startsWith('*') && !hostPart.endsWith('*')))
    return {
      error: `hostname "${raw}" has a * that is not at the start or the end; such a glob never matches (use "*.example.com" or "foo.example.*")`,
    };
  if (pm) {
    let re: string;
    if (hostPart === '*') re = '[^:]*';
    else if (hostPart.startsWith('*')) re = `.*${escapeRegex(hostPart.slice(1))}`;
    else if (hostPart.endsWith('*')) re = `${escapeRegex(hostPart.slice(0, -1))}.*`;
    else re = escapeRegex(hostPart);
    return { kind: 'regex', value: `${re}:${pm[2]}` };
  }
  if (lower === '*') return { kind: 'any' };
  if (lower.startsWith('*')) return { kind: 'suffix', value: lower.slice(1) };
  if (lower.endsWith('*')) return { kind: 'prefix', value: lower.slice(0, -1) };
  return { kind: 'exact', value: lower };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compareKv(a: KeyValue, b: KeyValue): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return Number(a.regex) - Number(b.regex);
}

/** Code-point length, as Python's `len`. */
function cpLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Emissary's `_route_weight` (§3.1): [precedence, len(prefix), header length, query length,
 * prefix, method or GET, header keys…, query keys…]. Lengths count `name + (value or "*") + regex`.
 */
export function routeWeight(m: {
  precedence: number;
  prefix: string;
  method: string | undefined;
  headers: readonly KeyValue[];
  query: readonly KeyValue[];
}): WeightKey {
  let lenHeaders = 0;
  for (const h of m.headers) lenHeaders += cpLength(h.name) + cpLength(h.value || '*') + (h.regex ? 1 : 0);
  let lenQuery = 0;
  for (const q of m.query) lenQuery += cpLength(q.name) + cpLength(q.value || '*') + (q.regex ? 1 : 0);
  const key: (number | string)[] = [
    m.precedence,
    cpLength(m.prefix),
    lenHeaders,
    lenQuery,
    m.prefix,
    m.method ?? 'GET',
  ];
  for (const h of m.headers) key.push(`${h.name}-${h.value || '*'}`);
  for (const q of m.query) key.push(`${q.name}-${q.value || '*'}`);
  return key;
}

/** Python list ordering: element by element, then the shorter list is smaller. */
export function compareWeightKeys(a: WeightKey, b: WeightKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// 2–4. group, weigh, emit

function buildGroup(
  groupId: string,
  members: readonly Prepared[],
  ctx: { module: ModuleContext; clusters: ClusterRegistry; acc: ConditionAccumulator },
): { route: Omit<IrRoute, 'order'>; weight: WeightKey } | null {
  const { acc } = ctx;
  const first = members[0];
  const primaries: Prepared[] = [];
  let shadow: Prepared | undefined;
  let redirect: Prepared | undefined;
  const reject = (p: Prepared, message: string, field?: string) =>
    acc.add(p.key, {
      reason: Reason.GroupMismatch,
      message,
      ...(field ? { field } : {}),
      critical: true,
    });

  for (const p of members) {
    if (p !== first) {
      const mismatch = groupMismatch(first, p);
      if (mismatch) {
        reject(
          p,
          `has the same match as ${first.key} (one canary group) but ${mismatch.detail}; Mappings in one group must agree on it`,
          mismatch.field,
        );
        continue;
      }
    }
    if (p.isShadow) {
      if (shadow)
        reject(p, `a second shadow in the group of ${first.key}; ${shadow.key} is already its shadow`);
      else shadow = p;
    } else if (p.isRedirect) {
      if (redirect)
        reject(p, `a second host_redirect in the group of ${first.key}; ${redirect.key} already redirects`);
      else if (primaries.length > 0)
        reject(
          p,
          `host_redirect cannot join a group of Mappings without host_redirect (e.g. ${primaries[0].key})`,
        );
      else redirect = p;
    } else if (redirect) {
      reject(p, `cannot join the host_redirect group of ${redirect.key} without host_redirect`);
    } else primaries.push(p);
  }

  const contributors = [...(redirect ? [redirect] : primaries), ...(shadow ? [shadow] : [])];
  let weight = contributors[0]?.weightKey ?? first.weightKey;
  for (const c of contributors) if (compareWeightKeys(c.weightKey, weight) > 0) weight = c.weightKey;

  if (redirect) {
    if (shadow)
      acc.add(shadow.key, {
        reason: Reason.NotServed,
        message: `its group is a host_redirect route (${redirect.key}), which sends nothing upstream to mirror`,
        critical: false,
      });
    const spec = redirect.spec;
    const ps = redirect.parsedService;
    const route: Omit<IrRoute, 'order'> = {
      id: groupId,
      precedence: spec.precedence ?? 0,
      match: redirect.match,
      targets: [],
      redirect: {
        code: spec.redirect_response_code ?? 301,
        host: ps.authority,
        scheme: ps.explicitScheme ? ps.scheme : null,
        path: redirect.redirectPath,
      },
      shadow: null,
      sources: [redirect.key],
    };
    return { route, weight };
  }

  if (primaries.length === 0) {
    if (shadow)
      acc.add(shadow.key, {
        reason: Reason.NotServed,
        message: 'no non-shadow Mapping has the same match, so there is nothing to mirror',
        critical: false,
      });
    return null;
  }

  const split = splitWeights(primaries);
  if ('overflow' in split) {
    for (const p of [...primaries, ...(shadow ? [shadow] : [])])
      acc.add(p.key, {
        reason: Reason.WeightOverflow,
        message: `the weights of the canary group (${primaries.map((x) => x.key).join(', ')}) add up to ${split.overflow}, more than 100; the whole group is dropped`,
        field: 'spec.weight',
        critical: true,
      });
    return null;
  }
  if (split.gap > 0) {
    const last = split.ordered[split.ordered.length - 1];
    acc.add(last.key, {
      reason: Reason.Ignored,
      message: `the group's weights add up to ${100 - split.gap} with no weightless Mapping; this Mapping also takes the remaining ${split.gap}%`,
      field: 'spec.weight',
      critical: false,
    });
  }

  const headers = groupHeaders(primaries);
  const targets: IrTarget[] = [];
  let previous = 0;
  for (let i = 0; i < split.ordered.length; i++) {
    const p = split.ordered[i];
    const threshold = split.thresholds[i];
    targets.push({
      mapping: p.key,
      threshold,
      weight: threshold - previous,
      cluster: clusterFor(p, ctx),
      rewrite: p.rewrite,
      hostRewrite: p.spec.host_rewrite ?? null,
      timeoutMs: p.spec.timeout_ms ?? ctx.module.requestTimeoutMs,
      idleTimeoutMs: p.spec.idle_timeout_ms ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      // Per Mapping, like timeout_ms; left out when unset (the compiler applies the Module default).
      ...(p.spec.max_request_body_bytes === undefined
        ? {}
        : { maxRequestBodyBytes: p.spec.max_request_body_bytes }),
      ...(p.spec.response_headers_timeout_ms === undefined
        ? {}
        : { responseHeadersTimeoutMs: p.spec.response_headers_timeout_ms }),
      ...headers,
    });
    previous = threshold;
  }
  let irShadow: IrShadow | null = null;
  if (shadow) {
    irShadow = {
      mapping: shadow.key,
      cluster: clusterFor(shadow, ctx),
      percent: shadow.spec.weight ?? 100,
      rewrite: shadow.rewrite,
      hostRewrite: shadow.spec.host_rewrite ?? null,
      timeoutMs: shadow.spec.timeout_ms ?? ctx.module.requestTimeoutMs,
    };
  }
  const route: Omit<IrRoute, 'order'> = {
    id: groupId,
    precedence: first.spec.precedence ?? 0,
    match: first.match,
    targets,
    redirect: null,
    shadow: irShadow,
    sources: [...split.ordered.map((p) => p.key), ...(shadow ? [shadow.key] : [])],
  };
  return { route, weight };
}

/**
 * Canonical form of everything that shapes the match; must be equal within a group. Worked out
 * only for groups of more than one Mapping (most groups have one).
 */
function matchIdentity(p: Prepared): string {
  return JSON.stringify([p.match.path.kind, p.match.path.caseSensitive, p.sortedKv, p.sortedQkv]);
}

function groupMismatch(group: Prepared, p: Prepared): { field: string; detail: string } | null {
  if (matchIdentity(p) !== matchIdentity(group)) {
    const a = group.match;
    const b = p.match;
    if (a.path.kind !== b.path.kind)
      return {
        field: b.path.kind === 'prefix' ? 'spec.prefix' : `spec.prefix_${b.path.kind}`,
        detail: `its path match is ${b.path.kind}, the group's is ${a.path.kind}`,
      };
    if (a.path.caseSensitive !== b.path.caseSensitive)
      return {
        field: 'spec.case_sensitive',
        detail: `case_sensitive is ${b.path.caseSensitive}, the group's is ${a.path.caseSensitive}`,
      };
    return {
      field: 'spec.headers',
      detail: 'its header, host, method or query matchers differ in kind (exact vs regex)',
    };
  }
  for (const k of kPolicyCoreKeys) {
    const mine = p.spec[k];
    if (mine === undefined) continue;
    const theirs = group.spec[k];
    const a = canonicalJson(mine);
    if (theirs === undefined || canonicalJson(theirs) !== a)
      return {
        field: `spec.${k}`,
        detail: `${k} is ${a} where the group's first Mapping has ${theirs === undefined ? 'it unset' : canonicalJson(theirs)}`,
      };
  }
  return null;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Emissary's `normalize_weights_in_mappings` (§3.2): weighted Mappings first as running totals,
 * weightless ones share the remainder, the last threshold is 100.
 */
export function splitWeights<T extends { readonly spec: { readonly weight?: number } }>(
  mappings: readonly T[],
): { ordered: T[]; thresholds: number[]; gap: number } | { overflow: number } {
  if (mappings.length === 1) return { ordered: [mappings[0]], thresholds: [100], gap: 0 };
  const weighted: T[] = [];
  const weightless: T[] = [];
  for (const m of mappings) (m.spec.weight === undefined ? weightless : weighted).push(m);
  const thresholds: number[] = [];
  let current = 0;
  for (const m of weighted) {
    current += m.spec.weight ?? 0;
    thresholds.push(current);
  }
  if (current > 100) return { overflow: current };
  let gap = 0;
  if (weightless.length > 0) {
    const per = roundHalfEven((100 - current) / weightless.length);
    for (let i = 0; i < weightless.length; i++) {
      current = i === weightless.length - 1 ? 100 : Math.min(100, current + per);
      thresholds.push(current);
    }
  } else if (current < 100) {
    gap = 100 - current;
    thresholds[thresholds.length - 1] = 100;
  }
  return { ordered: [...weighted, ...weightless], thresholds, gap };
}

function groupHeaders(primaries: readonly Prepared[]): {
  addRequestHeaders: IrHeaderAdd[];
  removeRequestHeaders: string[];
  addResponseHeaders: IrHeaderAdd[];
  removeResponseHeaders: string[];
} {
  const req = new Map<string, IrHeaderAdd>();
  const resp = new Map<string, IrHeaderAdd>();
  let removeReq: readonly string[] = [];
  let removeResp: readonly string[] = [];
  for (const p of primaries) {
    mergeAdds(req, p.addRequestHeaders);
    mergeAdds(resp, p.addResponseHeaders);
    if (p.removeRequestHeaders !== undefined) removeReq = p.removeRequestHeaders;
    if (p.removeResponseHeaders !== undefined) removeResp = p.removeResponseHeaders;
  }
  return {
    addRequestHeaders: [...req.values()],
    removeRequestHeaders: lowerUnique(removeReq),
    addResponseHeaders: [...resp.values()],
    removeResponseHeaders: lowerUnique(removeResp),
  };
}

function mergeAdds(
  into: Map<string, IrHeaderAdd>,
  adds: Readonly<Record<string, HeaderToAdd>> | undefined,
): void {
  if (!adds) return;
  for (const [rawName, h] of Object.entries(adds)) {
    const name = rawName.toLowerCase();
    into.delete(name);
    into.set(name, { name, value: h.value, append: h.append ?? true });
  }
}

function lowerUnique(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const l = n.toLowerCase();
    if (!out.includes(l)) out.push(l);
  }
  return out;
}

function clusterFor(
  p: Prepared,
  ctx: { module: ModuleContext; clusters: ClusterRegistry; acc: ConditionAccumulator },
): string {
  const spec = p.spec;
  const { id, conditions } = ctx.clusters.clusterFor({
    service: spec.service,
    parsed: p.parsedService,
    mappingNamespace: p.res.namespace,
    policy: {
      connectTimeoutMs: spec.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: spec.cluster_idle_timeout_ms ?? ctx.module.clusterIdleTimeoutMs,
      maxConnectionLifetimeMs:
        spec.cluster_max_connection_lifetime_ms ?? ctx.module.clusterMaxConnectionLifetimeMs,
      clusterTag: spec.cluster_tag ?? null,
    },
  });
  for (const c of conditions) ctx.acc.add(p.key, c);
  return id;
}
