/**
 * Static settings: parsed and validated once at start from the command line and the environment,
 * never changed afterwards. Dynamic configuration (Mappings, Modules…) comes from sources instead.
 * (Traefik pkg/config/static.)
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { GatewayError } from '../errors/gateway-error.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `--kubernetes`: watch a Kubernetes API server (see sources/kubernetes). */
export interface KubernetesSettings {
  /** kubeconfig file; absent = in-cluster service account, else the default kubeconfig. */
  readonly kubeconfig?: string;
  /** Namespaces to watch; empty = all. */
  readonly namespaces: readonly string[];
  /** Written into Ingress `status.loadBalancer` (IP or hostname). */
  readonly publishAddress: string;
  /** Write status back (Mappings, Ingresses); only the Lease holder does. */
  readonly updateStatus: boolean;
  /** Lease `namespace/name` used to elect the one replica that writes status. */
  readonly leaseNamespace: string;
  readonly leaseName: string;
  /** This replica's identity in the Lease (default: POD_NAME or hostname, pid, random suffix). */
  readonly identity?: string;
}

export interface ServeSettings {
  /** Configuration directory (file source); optional when `kubernetes` is set. */
  readonly configDir?: string;
  /** Present when `--kubernetes` is given. */
  readonly kubernetes?: KubernetesSettings;
  readonly listen: HostPort;
  readonly admin: HostPort;
  readonly workers: number;
  readonly ambassadorId: string;
  /** The gateway's own namespace (for Emissary's service-name defaulting). */
  readonly namespace: string;
  readonly logLevel: string;
  /** Debounce before a change is applied. */
  readonly holdoffMs: number;
  /** A burst of changes is applied at least this often. */
  readonly maxDelayMs: number;
  /** How long in-flight requests get to finish on shutdown. */
  readonly drainMs: number;
}

export const DEFAULT_LISTEN: HostPort = { host: '0.0.0.0', port: 8080 };
export const DEFAULT_ADMIN: HostPort = { host: '127.0.0.1', port: 8877 };

/** `HOST:PORT`, `:PORT`, `PORT` or `[v6]:PORT`. */
export function parseHostPort(value: string, fallbackHost: string, flag: string): HostPort {
  let host = fallbackHost;
  let portText = value;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (value.includes(':')) {
    const cut = value.lastIndexOf(':');
    host = value.slice(0, cut) || fallbackHost;
    portText = value.slice(cut + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', { message: `${flag}: "${value}" is not HOST:PORT` });
  }
  return { host, port };
}

function positiveInt(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', { message: `${flag}: "${value}" is not a whole number` });
  }
  return n;
}

/** Parses `legate serve` arguments; environment variables give the defaults (LEGATE_*). */
export function parseServeArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string' },
      admin: { type: 'string' },
      workers: { type: 'string' },
      'ambassador-id': { type: 'string' },
      'gateway-namespace': { type: 'string' },
      'log-level': { type: 'string' },
      'holdoff-ms': { type: 'string' },
      'max-delay-ms': { type: 'string' },
      'drain-ms': { type: 'string' },
      kubernetes: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      'publish-address': { type: 'string' },
      'no-status': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const configDir = values.config ?? env.LEGATE_CONFIG;
  const kubernetesOn = values.kubernetes === true || env.LEGATE_KUBERNETES === '1';
  if (!configDir && !kubernetesOn) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', { message: '--config DIR or --kubernetes is required' });
  }
  if (!kubernetesOn) {
    for (const flag of [
      'kubeconfig',
      'namespace',
      'publish-address',
      'no-status',
      'lease-namespace',
      'lease-name',
    ]) {
      if (values[flag as keyof typeof values] !== undefined) {
        throw new GatewayError('GW_ERR_BOOTSTRAP', { message: `--${flag} needs --kubernetes` });
      }
    }
  }
  const listenText = values.listen ?? env.LEGATE_LISTEN;
  const adminText = values.admin ?? env.LEGATE_ADMIN;
  const listen = listenText ? parseHostPort(listenText, DEFAULT_LISTEN.host, '--listen') : DEFAULT_LISTEN;
  const namespace = values['gateway-namespace'] ?? env.AMBASSADOR_NAMESPACE ?? env.POD_NAMESPACE ?? 'default';
  const ambassadorId = values['ambassador-id'] ?? env.AMBASSADOR_ID ?? 'default';
  const workers = positiveInt(values.workers ?? env.LEGATE_WORKERS, availableParallelism(), '--workers');
  return {
    ...(configDir ? { configDir } : {}),
    ...(kubernetesOn
      ? {
          kubernetes: {
            ...((values.kubeconfig ?? env.KUBECONFIG)
              ? { kubeconfig: values.kubeconfig ?? env.KUBECONFIG }
              : {}),
            namespaces: splitList(
              values.namespace ?? (env.LEGATE_WATCH_NAMESPACES ? [env.LEGATE_WATCH_NAMESPACES] : []),
            ),
            publishAddress: values['publish-address'] ?? defaultPublishAddress(listen, env),
            updateStatus: values['no-status'] !== true,
            leaseNamespace: values['lease-namespace'] ?? namespace,
            leaseName: values['lease-name'] ?? `legate-status-${ambassadorId}`,
            ...(env.POD_NAME ? { identity: `${env.POD_NAME}_${process.pid}` } : {}),
          },
        }
      : {}),
    listen,
    admin: adminText ? parseHostPort(adminText, DEFAULT_ADMIN.host, '--admin') : DEFAULT_ADMIN,
    workers: workers === 0 ? availableParallelism() : workers,
    ambassadorId,
    namespace,
    logLevel: values['log-level'] ?? env.LEGATE_LOG_LEVEL ?? 'info',
    holdoffMs: positiveInt(values['holdoff-ms'], 100, '--holdoff-ms'),
    maxDelayMs: positiveInt(values['max-delay-ms'], 1000, '--max-delay-ms'),
    drainMs: positiveInt(values['drain-ms'], 10_000, '--drain-ms'),
  };
}

/** `--namespace a,b --namespace c` → [a, b, c]; empty entries dropped, duplicates kept out. */
export function splitList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t !== '' && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

/**
 * The address Ingress status advertises when `--publish-address` is absent: the listen host when it
 * is a concrete address, else the pod IP (`POD_IP`, from the downward API), else 127.0.0.1.
 */
export function defaultPublishAddress(listen: HostPort, env: NodeJS.ProcessEnv): string {
  if (listen.host !== '0.0.0.0' && listen.host !== '::' && listen.host !== '') return listen.host;
  return env.POD_IP || '127.0.0.1';
}
