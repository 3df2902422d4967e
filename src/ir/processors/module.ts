/**
 * Module processor: the `ambassador` Module → gateway settings and Mapping defaults.
 *
 * Called first by `ir/build.ts`; every later processor reads its `ModuleContext`. Pure. Rules:
 * - Only a Module named `ambassador` is read. When several exist, the one in the gateway's own
 *   namespace wins, then the lowest key (so the choice does not depend on input order); every
 *   other Module gets a critical `ModuleConflict`.
 * - Defaults are Emissary's (reference §4.1): use_remote_address true, xff_num_trusted_hops 0,
 *   normalize_path true, merge_slashes false, reject_requests_with_escaped_slashes false,
 *   max_request_headers_kb 60, preserve_external_request_id false, cluster_request_timeout_ms 3000.
 * - Legate's edge limits (Envoy's edge-hardening values where Envoy has one): 100 header fields,
 *   16 KiB request target, no body limit (bodies stream; `buffer.max_request_bytes` from Emissary
 *   is read as the body limit when `max_request_body_bytes` is unset), request head within 10 s,
 *   whole request within 300 s, 10,000 connections per process, unlimited requests per connection,
 *   no separate upstream head deadline (the route's `timeout_ms` bounds it), 60 KiB upstream head,
 *   no upstream body limit (responses stream).
 * - `defaults` (§2.3): `defaults.httpmapping.<key>` first, then `defaults.<key>`, for the four
 *   header keys. A malformed default is skipped with a warning on the Module, and so is one that
 *   cannot go on the wire (`wire.ts`: a name that is not a token or that Legate owns, a value with
 *   a control character): the whole key, so a default is applied as written or not at all.
 * - `server_name` (the `server` response header) that cannot go on the wire: the same warning,
 *   and the default (upstream's `server` passed through) applies.
 * - Keys Legate does not act on yet get one non-critical `Ignored` note naming them, so an
 *   operator who set `retry_policy` globally can see it is not applied.
 */
import type { HeaderToAdd } from '../../resources/schemas/getambassador.io/mapping.js';
import type { ModuleConfig } from '../../resources/schemas/getambassador.io/module.js';
import { type ModuleResource, Reason } from '../../resources/types.js';
import type { ConditionAccumulator } from '../status.js';
import type { IrSettings } from '../types.js';
import { headerAddErrors, headerRemoveErrors, headerValueError } from './wire.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 3000;
/** Envoy's HCM default for downstream idle connections (1 hour); Emissary leaves it unset. */
export const DEFAULT_LISTENER_IDLE_TIMEOUT_MS = 3_600_000;

export const DEFAULT_SETTINGS: IrSettings = {
  preserveExternalRequestId: false,
  serverName: null,
  suppressEnvoyHeaders: false,
  useRemoteAddress: true,
  xffNumTrustedHops: 0,
  normalizePath: true,
  mergeSlashes: false,
  rejectRequestsWithEscapedSlashes: false,
  maxRequestHeadersKb: 60,
  listenerIdleTimeoutMs: DEFAULT_LISTENER_IDLE_TIMEOUT_MS,
  stripMatchingHostPort: false,
  maxRequestHeadersCount: 100,
  maxRequestUrlBytes: 16 * 1024,
  maxRequestBodyBytes: 0,
  requestHeadersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  maxConnections: 10_000,
  maxRequestsPerConnection: 0,
  responseHeadersTimeoutMs: 0,
  maxResponseHeadersKb: 60,
  maxResponseBodyBytes: 0,
};

/** Mapping defaults from `Module.config.defaults`, already validated. */
export interface MappingDefaults {
  readonly add_request_headers?: Readonly<Record<string, HeaderToAdd>>;
  readonly add_response_headers?: Readonly<Record<string, HeaderToAdd>>;
  readonly remove_request_headers?: readonly string[];
  readonly remove_response_headers?: readonly string[];
}

export interface ModuleContext {
  readonly settings: IrSettings;
  /** Default Mapping `timeout_ms`. */
  readonly requestTimeoutMs: number;
  /** Default cluster idle timeout; 0 = data-plane default. */
  readonly clusterIdleTimeoutMs: number;
  /** Default upstream connection lifetime; 0 = unlimited. */
  readonly clusterMaxConnectionLifetimeMs: number;
  readonly useAmbassadorNamespaceForServiceResolution: boolean;
  readonly defaults: MappingDefaults;
}

/** Module config keys something in Legate acts on. */
const kActedKeys = new Set<string>([
  'cluster_request_timeout_ms',
  'cluster_idle_timeout_ms',
  'cluster_max_connection_lifetime_ms',
  'listener_idle_timeout_ms',
  'use_ambassador_namespace_for_service_resolution',
  'preserve_external_request_id',
  'server_name',
  'suppress_envoy_headers',
  'use_remote_address',
  'xff_num_trusted_hops',
  'normalize_path',
  'merge_slashes',
  'reject_requests_with_escaped_slashes',
  'max_request_headers_kb',
  'strip_matching_host_port',
  'max_request_headers_count',
  'max_request_url_bytes',
  'max_request_body_bytes',
  'request_headers_timeout_ms',
  'request_timeout_ms',
  'max_connections',
  'max_requests_per_connection',
  'response_headers_timeout_ms',
  'max_response_headers_kb',
  'max_response_body_bytes',
  'buffer',
  'defaults',
]);

const kHeaderDefaultKeys = [
  'add_request_headers',
  'add_response_headers',
  'remove_request_headers',
  'remove_response_headers',
] as const;
type HeaderDefaultKey = (typeof kHeaderDefaultKeys)[number];

export function processModules(
  modules: readonly ModuleResource[],
  opts: { gatewayNamespace: string; acc: ConditionAccumulator },
): ModuleContext {
  const { acc, gatewayNamespace } = opts;
  const candidates: ModuleResource[] = [];
  for (const m of modules) {
    if (m.name === 'ambassador') candidates.push(m);
    else
      acc.add(m.key, {
        reason: Reason.ModuleConflict,
        message: `Legate reads only the Module named "ambassador"; Module "${m.name}" is left out`,
        critical: true,
      });
  }
  candidates.sort((a, b) => {
    const ah = a.namespace === gatewayNamespace ? 0 : 1;
    const bh = b.namespace === gatewayNamespace ? 0 : 1;
    if (ah !== bh) return ah - bh;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  const chosen = candidates[0];
  for (let i = 1; i < candidates.length; i++) {
    acc.add(candidates[i].key, {
      reason: Reason.ModuleConflict,
      message: `another ambassador Module (${chosen.key}) is in use; only one is read`,
      critical: true,
    });
  }
  if (!chosen) {
    return {
      settings: DEFAULT_SETTINGS,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
      clusterIdleTimeoutMs: 0,
      clusterMaxConnectionLifetimeMs: 0,
      useAmbassadorNamespaceForServiceResolution: false,
      defaults: {},
    };
  }
  const config: ModuleConfig = chosen.spec.config ?? {};
  const ignored: string[] = [];
  for (const k of Object.keys(config)) if (!kActedKeys.has(k)) ignored.push(k);

  const serverName = readServerName(config.server_name, (message) =>
    acc.add(chosen.key, {
      reason: Reason.Ignored,
      message,
      field: 'spec.config.server_name',
      critical: false,
    }),
  );
  const defaults = readDefaults(config, ignored, (key, message) =>
    acc.add(chosen.key, {
      reason: Reason.Ignored,
      message,
      field: `spec.config.defaults.${key}`,
      critical: false,
    }),
  );
  if (ignored.length > 0) {
    acc.add(chosen.key, {
      reason: Reason.Ignored,
      message: `Legate does not act on these Module keys yet: ${ignored.sort().join(', ')}`,
      field: 'spec.config',
      critical: false,
    });
  }
  const d = DEFAULT_SETTINGS;
  return {
    settings: {
      preserveExternalRequestId: config.preserve_external_request_id ?? d.preserveExternalRequestId,
      serverName: serverName ?? d.serverName,
      suppressEnvoyHeaders: config.suppress_envoy_headers ?? d.suppressEnvoyHeaders,
      useRemoteAddress: config.use_remote_address ?? d.useRemoteAddress,
      xffNumTrustedHops: config.xff_num_trusted_hops ?? d.xffNumTrustedHops,
      normalizePath: config.normalize_path ?? d.normalizePath,
      mergeSlashes: config.merge_slashes ?? d.mergeSlashes,
      rejectRequestsWithEscapedSlashes:
        config.reject_requests_with_escaped_slashes ?? d.rejectRequestsWithEscapedSlashes,
      maxRequestHeadersKb: config.max_request_headers_kb ?? d.maxRequestHeadersKb,
      listenerIdleTimeoutMs: config.listener_idle_timeout_ms ?? d.listenerIdleTimeoutMs,
      stripMatchingHostPort: config.strip_matching_host_port ?? d.stripMatchingHostPort,
      maxRequestHeadersCount: config.max_request_headers_count ?? d.maxRequestHeadersCount,
      maxRequestUrlBytes: config.max_request_url_bytes ?? d.maxRequestUrlBytes,
      maxRequestBodyBytes:
        config.max_request_body_bytes ?? config.buffer?.max_request_bytes ?? d.maxRequestBodyBytes,
      requestHeadersTimeoutMs: config.request_headers_timeout_ms ?? d.requestHeadersTimeoutMs,
      requestTimeoutMs: config.request_timeout_ms ?? d.requestTimeoutMs,
      maxConnections: config.max_connections ?? d.maxConnections,
      maxRequestsPerConnection: config.max_requests_per_connection ?? d.maxRequestsPerConnection,
      responseHeadersTimeoutMs: config.response_headers_timeout_ms ?? d.responseHeadersTimeoutMs,
      maxResponseHeadersKb: config.max_response_headers_kb ?? d.maxResponseHeadersKb,
      maxResponseBodyBytes: config.max_response_body_bytes ?? d.maxResponseBodyBytes,
    },
    requestTimeoutMs: config.cluster_request_timeout_ms ?? DEFAULT_REQUEST_TIMEOUT_MS,
    clusterIdleTimeoutMs: config.cluster_idle_timeout_ms ?? 0,
    clusterMaxConnectionLifetimeMs: config.cluster_max_connection_lifetime_ms ?? 0,
    useAmbassadorNamespaceForServiceResolution:
      config.use_ambassador_namespace_for_service_resolution ?? false,
    defaults,
  };
}

/** `server_name` is the `server` header of every response: a value that cannot go on the wire is skipped. */
function readServerName(value: string | undefined, warn: (message: string) => void): string | undefined {
  if (value === undefined) return undefined;
  const err = headerValueError(value);
  if (err === null) return value;
  warn(`server_name: ${err}; it is not applied`);
  return undefined;
}

/**
 * `defaults.httpmapping.<key>` then `defaults.<key>` (Emissary `lookup_default`). Anything else
 * under `defaults` is reported through `ignored` (as `defaults.<key>`).
 */
function readDefaults(
  config: ModuleConfig,
  ignored: string[],
  warn: (key: string, message: string) => void,
): MappingDefaults {
  const raw = config.defaults as Record<string, unknown> | undefined;
  if (!isRecord(raw)) return {};
  const http = isRecord(raw.httpmapping) ? raw.httpmapping : {};
  for (const k of Object.keys(raw)) {
    if (k !== 'httpmapping' && !(kHeaderDefaultKeys as readonly string[]).includes(k))
      ignored.push(`defaults.${k}`);
  }
  for (const k of Object.keys(http)) {
    if (!(kHeaderDefaultKeys as readonly string[]).includes(k)) ignored.push(`defaults.httpmapping.${k}`);
  }
  const out: Partial<Record<HeaderDefaultKey, unknown>> = {};
  for (const key of kHeaderDefaultKeys) {
    const fromHttp = http[key] !== undefined;
    const value = fromHttp ? http[key] : raw[key];
    if (value === undefined) continue;
    const path = fromHttp ? `httpmapping.${key}` : key;
    const parsed = key.startsWith('add_') ? parseHeaderAdds(value) : parseHeaderList(value);
    if (parsed === null) {
      warn(path, `defaults.${path} is malformed and is not applied`);
      continue;
    }
    const findings = Array.isArray(parsed)
      ? headerRemoveErrors(`defaults.${path}`, parsed)
      : headerAddErrors(`defaults.${path}`, parsed, key === 'add_request_headers' ? 'request' : 'response');
    if (findings.length > 0) {
      for (const f of findings)
        warn(f.field.slice('defaults.'.length), `${f.message}; defaults.${path} is not applied`);
      continue;
    }
    out[key] = parsed;
  }
  return out as MappingDefaults;
}

function parseHeaderAdds(value: unknown): Record<string, HeaderToAdd> | null {
  if (!isRecord(value)) return null;
  const out: Record<string, HeaderToAdd> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'string') out[name] = { value: v };
    else if (
      isRecord(v) &&
      typeof v.value === 'string' &&
      (v.append === undefined || typeof v.append === 'boolean')
    )
      out[name] = v.append === undefined ? { value: v.value } : { value: v.value, append: v.append };
    else return null;
  }
  return out;
}

function parseHeaderList(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return null;
  for (const v of value) if (typeof v !== 'string') return null;
  return value as string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
