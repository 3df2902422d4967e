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

export interface ServeSettings {
  readonly configDir: string;
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
    },
    strict: true,
    allowPositionals: false,
  });
  const configDir = values.config ?? env.LEGATE_CONFIG;
  if (!configDir) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', { message: '--config DIR is required' });
  }
  const listenText = values.listen ?? env.LEGATE_LISTEN;
  const adminText = values.admin ?? env.LEGATE_ADMIN;
  const workers = positiveInt(values.workers ?? env.LEGATE_WORKERS, availableParallelism(), '--workers');
  return {
    configDir,
    listen: listenText ? parseHostPort(listenText, DEFAULT_LISTEN.host, '--listen') : DEFAULT_LISTEN,
    admin: adminText ? parseHostPort(adminText, DEFAULT_ADMIN.host, '--admin') : DEFAULT_ADMIN,
    workers: workers === 0 ? availableParallelism() : workers,
    ambassadorId: values['ambassador-id'] ?? env.AMBASSADOR_ID ?? 'default',
    namespace: values['gateway-namespace'] ?? env.AMBASSADOR_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
    logLevel: values['log-level'] ?? env.LEGATE_LOG_LEVEL ?? 'info',
    holdoffMs: positiveInt(values['holdoff-ms'], 100, '--holdoff-ms'),
    maxDelayMs: positiveInt(values['max-delay-ms'], 1000, '--max-delay-ms'),
    drainMs: positiveInt(values['drain-ms'], 10_000, '--drain-ms'),
  };
}
