/**
 * Service processor: `service` strings → upstream clusters.
 *
 * Called by the mapping processor for every Mapping that ends up in a route (so clusters exist only
 * for routes that are served). Pure; the registry is per build. Rules (reference §1.5, §2.1):
 * - Grammar `[scheme://]host[.namespace][:port]`; scheme http (default) or https; default port
 *   80/443 by scheme; IPv6 literals bracketed. A single trailing `/` is tolerated; any other path,
 *   userinfo, query or fragment is an error.
 * - Namespace defaulting: `.<mapping namespace>` is appended when the host has no `.`/`:`, is not
 *   `localhost`, the Mapping's namespace differs from the gateway's own namespace and
 *   `use_ambassador_namespace_for_service_resolution` is false.
 * - Lookup: `name` (gateway namespace), `name.ns` and `name.ns.svc[.…]` are looked up as a
 *   Service. Found → `kubernetes` resolution over the ready endpoints of its EndpointSlices
 *   (`ServicePortNotFound`/`NoEndpoints` are warnings: the route stays and answers 503 until the
 *   Service or its endpoints change, rather than falling through to a less specific route).
 *   An `ExternalName` Service resolves statically to its external name.
 * - No such Service: the host is used as-is (`static`, resolved by DNS at connect time). Decision
 *   for names that look like Service references (a bare name, or one we qualified with the
 *   Mapping's namespace): still `static`, because a bare name is what docker-compose and
 *   /etc/hosts setups use and what the pod's DNS search path resolves in a cluster, but with a
 *   non-critical `ServiceNotFound` warning so a typo is visible.
 * - Cluster identity: (scheme, resolution, target, authority, connect/idle/lifetime timeouts,
 *   cluster_tag). Endpoints are not part of the identity, so a cluster keeps its id (and the data
 *   plane keeps its pools) when endpoints change. Id = readable name + 8 hex of sha256.
 */
import type { Condition, EndpointSliceResource, ServiceResource } from '../../resources/types.js';
import { Reason } from '../../resources/types.js';
import { sha256Hex } from '../canonical.js';
import type { IrCluster, IrEndpoint } from '../types.js';

export interface ParsedService {
  readonly scheme: 'http' | 'https';
  /** True when the service string carried `http://` or `https://`. */
  readonly explicitScheme: boolean;
  /** Host without brackets, as written. */
  readonly host: string;
  readonly port: number;
  readonly explicitPort: boolean;
  /** `host[:port]` as written (brackets kept), without scheme. */
  readonly authority: string;
}

const kHostRe = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/;

/** Parses `[scheme://]host[:port]`. Returns an error message instead of throwing. */
export function parseService(text: string): ParsedService | { readonly error: string } {
  let rest = text;
  let scheme: 'http' | 'https' = 'http';
  let explicitScheme = false;
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (sm) {
    const s = sm[1].toLowerCase();
    if (s !== 'http' && s !== 'https')
      return { error: `unsupported scheme "${sm[1]}://" (use http:// or https://)` };
    scheme = s;
    explicitScheme = true;
    rest = rest.slice(sm[0].length);
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') return { error: 'no host' };
  if (/[/?#@\s]/.test(rest))
    return { error: 'service must be [scheme://]host[:port] with no path, query or user info' };
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return { error: 'unterminated IPv6 literal' };
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return { error: `unexpected "${after}" after IPv6 literal` };
      portText = after.slice(1);
    }
    if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?$/.test(host) || !host.includes(':'))
      return { error: `"${host}" is not an IPv6 address` };
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) return { error: 'IPv6 addresses must be written in brackets, e.g. [::1]:8080' };
    host = parts[0];
    portText = parts[1];
    if (!kHostRe.test(host)) return { error: `"${host}" is not a valid host name` };
  }
  let port = scheme === 'https' ? 443 : 80;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return { error: `port "${portText}" is not a number` };
    port = Number(portText);
    if (port < 1 || port > 65535) return { error: `port ${port} is out of range` };
  }
  return { scheme, explicitScheme, host, port, explicitPort: portText !== undefined, authority: rest };
}

/** Namespace defaulting (reference §1.5). Returns the host unchanged when it does not apply. */
export function qualifyHost(
  host: string,
  opts: { mappingNamespace: string; gatewayNamespace: string; useAmbassadorNamespace: boolean },
): string {
  if (host.includes('.') || host.includes(':') || host === 'localhost') return host;
  if (opts.useAmbassadorNamespace || opts.mappingNamespace === opts.gatewayNamespace) return host;
  return `${host}.${opts.mappingNamespace}`;
}

export interface ClusterPolicy {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnectionLifetimeMs: number;
  readonly clusterTag: string | null;
}

interface Resolution {
  readonly resolution: 'static' | 'kubernetes';
  readonly targetKey: string;
  readonly readable: string;
  readonly serviceRef?: { readonly namespace: string; readonly name: string; readonly port: number };
  readonly endpoints: readonly IrEndpoint[];
  readonly conditions: readonly Condition[];
}

const kIpv4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Per-build cluster registry. `clusterFor` returns the cluster id for a Mapping's service and the
 * conditions the Mapping should carry; identical requests share one cluster.
 */
export class ClusterRegistry {
  readonly #services = new Map<string, ServiceResource>();
  readonly #slices = new Map<string, EndpointSliceResource[]>();
  readonly #resolutions = new Map<string, Resolution>();
  readonly #clusters = new Map<string, IrCluster>();
  /** identity → id, so the digest is computed once per distinct cluster. */
  readonly #ids = new Map<string, string>();
  readonly #gatewayNamespace: string;
  readonly #useAmbassadorNamespace: boolean;

  constructor(opts: {
    services: readonly ServiceResource[];
    endpointSlices: readonly EndpointSliceResource[];
    gatewayNamespace: string;
    useAmbassadorNamespace: boolean;
  }) {
    for (const s of opts.services) {
      const k = `${s.namespace}/${s.name}`;
      if (!this.#services.has(k)) this.#services.set(k, s);
    }
    for (const sl of opts.endpointSlices) {
      const k = `${sl.namespace}/${sl.serviceName}`;
      const list = this.#slices.get(k);
      if (list) list.push(sl);
      else this.#slices.set(k, [sl]);
    }
    this.#gatewayNamespace = opts.gatewayNamespace;
    this.#useAmbassadorNamespace = opts.useAmbassadorNamespace;
  }

  clusterFor(opts: {
    service: string;
    parsed: ParsedService;
    mappingNamespace: string;
    policy: ClusterPolicy;
  }): { readonly id: string; readonly conditions: readonly Condition[] } {
    const { parsed, policy } = opts;
    const qualified = qualifyHost(parsed.host, {
      mappingNamespace: opts.mappingNamespace,
      gatewayNamespace: this.#gatewayNamespace,
      useAmbassadorNamespace: this.#useAmbassadorNamespace,
    });
    const rkey = `${parsed.scheme}\u0000${qualified}\u0000${parsed.port}\u0000${qualified !== parsed.host}`;
    let res = this.#resolutions.get(rkey);
    if (!res) {
      res = this.#resolve(parsed, qualified, qualified !== parsed.host);
      this.#resolutions.set(rkey, res);
    }
    // Fixed key order and scalar values: JSON.stringify is canonical here.
    const identity = JSON.stringify([
      parsed.scheme,
      res.resolution,
      res.targetKey,
      parsed.authority,
      policy.connectTimeoutMs,
      policy.idleTimeoutMs,
      policy.maxConnectionLifetimeMs,
      policy.clusterTag,
    ]);
    let id = this.#ids.get(identity);
    if (id === undefined) {
      const prefix = parsed.scheme === 'https' ? 'https_' : '';
      id = `cluster_${prefix}${res.readable}_${sha256Hex(identity, 8)}`;
      this.#ids.set(identity, id);
    }
    if (!this.#clusters.has(id)) {
      const cluster: IrCluster = {
        id,
        service: opts.service,
        scheme: parsed.scheme,
        resolution: res.resolution,
        ...(res.serviceRef ? { serviceRef: res.serviceRef } : {}),
        endpoints: res.endpoints,
        connectTimeoutMs: policy.connectTimeoutMs,
        idleTimeoutMs: policy.idleTimeoutMs,
        maxConnectionLifetimeMs: policy.maxConnectionLifetimeMs,
        authority: parsed.authority,
      };
      this.#clusters.set(id, cluster);
    }
    return { id, conditions: res.conditions };
  }

  /** The Service `namespace/name`, if the resource set has it (Ingress named-port resolution). */
  findService(namespace: string, name: string): ServiceResource | undefined {
    return this.#services.get(`${namespace}/${name}`);
  }

  /** Every cluster handed out, sorted by id. */
  clusters(): IrCluster[] {
    return [...this.#clusters.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #resolve(parsed: ParsedService, qualified: string, wasQualified: boolean): Resolution {
    const host = qualified.toLowerCase().replace(/\.$/, '');
    const port = parsed.port;
    const ref = this.#serviceRefFor(host);
    const svc = ref ? this.#services.get(`${ref.namespace}/${ref.name}`) : undefined;
    if (!ref || !svc) {
      const conditions: Condition[] = [];
      const looksLikeService = ref !== null && (wasQualified || !host.includes('.'));
      if (looksLikeService && ref) {
        conditions.push({
          reason: Reason.ServiceNotFound,
          message: `no Service "${ref.name}" in namespace "${ref.namespace}"; sending to the DNS name ${qualified}:${port}, resolved at connect time`,
          field: 'spec.service',
          critical: false,
        });
      }
      return {
        resolution: 'static',
        targetKey: `static:${host}:${port}`,
        readable: sanitize(`${host}_${port}`),
        endpoints: [{ address: host, port }],
        conditions,
      };
    }
    if (svc.spec.type === 'ExternalName' && svc.spec.externalName) {
      const ext = svc.spec.externalName.toLowerCase();
      return {
        resolution: 'static',
        targetKey: `static:${ext}:${port}`,
        readable: sanitize(`${ext}_${port}`),
        endpoints: [{ address: ext, port }],
        conditions: [],
      };
    }
    const readable = sanitize(`${ref.name}_${port}_${ref.namespace}`);
    const targetKey = `kubernetes:${ref.namespace}/${ref.name}:${port}`;
    const serviceRef = { namespace: ref.namespace, name: ref.name, port };
    const ports = svc.spec.ports ?? [];
    const sp = ports.find((p) => p.port === port);
    if (!sp) {
      const have = ports.map((p) => p.port).join(', ') || 'none';
      return {
        resolution: 'kubernetes',
        targetKey,
        readable,
        serviceRef,
        endpoints: [],
        conditions: [
          {
            reason: Reason.ServicePortNotFound,
            message: `Service ${ref.namespace}/${ref.name} has no port ${port} (ports: ${have})${parsed.explicitPort ? '' : `; ${port} is the default for ${parsed.scheme}, write the port in service`}; the route answers 503`,
            field: 'spec.service',
            critical: false,
          },
        ],
      };
    }
    const wantName = sp.name ?? '';
    const seen = new Set<string>();
    const endpoints: IrEndpoint[] = [];
    for (const slice of this.#slices.get(`${ref.namespace}/${ref.name}`) ?? []) {
      const slicePort = (slice.spec.ports ?? []).find((p) => (p.name ?? '') === wantName);
      if (!slicePort || typeof slicePort.port !== 'number') continue;
      for (const ep of slice.spec.endpoints) {
        if (ep.conditions?.ready === false) continue;
        for (const address of ep.addresses) {
          const k = `${address}\u0000${slicePort.port}`;
          if (seen.has(k)) continue;
          seen.add(k);
          endpoints.push({ address, port: slicePort.port });
        }
      }
    }
    endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
    const conditions: Condition[] =
      endpoints.length === 0
        ? [
            {
              reason: Reason.NoEndpoints,
              message: `Service ${ref.namespace}/${ref.name} has no ready endpoints for port ${port}; the route answers 503 until some appear`,
              field: 'spec.service',
              critical: false,
            },
          ]
        : [];
    return { resolution: 'kubernetes', targetKey, readable, serviceRef, endpoints, conditions };
  }

  /** Which Service a host names, if its shape is a Service reference at all. */
  #serviceRefFor(host: string): { name: string; namespace: string } | null {
    if (host === 'localhost' || host.includes(':') || kIpv4.test(host)) return null;
    const labels = host.split('.');
    if (labels.length === 1) return { name: labels[0], namespace: this.#gatewayNamespace };
    if (labels.length === 2) return { name: labels[0], namespace: labels[1] };
    if (labels[2] === 'svc') return { name: labels[0], namespace: labels[1] };
    return null;
  }
}

function sanitize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 60);
}
