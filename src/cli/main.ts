/**
 * The `legate` command: `serve`, `validate`, `routes`. `validate` and `routes` run exactly the
 * code `serve` runs (file source → resources → IR), without listening.
 */
import { parseArgs } from 'node:util';
import { describeRoutes, formatRouteTable } from '../admin/diag/routes.js';
import { parseServeArgs } from '../bootstrap/settings.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ir } from '../ir/types.js';
import { buildIrFromSources, runGateway } from '../main.js';
import { legateVersion } from '../observability/version.js';
import { formatProblems } from '../resources/build.js';
import { loadDirectory } from '../sources/file/file-source.js';

const USAGE = `Usage: legate <command> [options]

Commands:
  serve [--config DIR] [--kubernetes [--kubeconfig PATH] [--namespace NS ...] [--publish-address ADDR]
        [--no-status] [--lease-namespace NS] [--lease-name NAME]]
        [--listen HOST:PORT] [--admin HOST:PORT] [--workers N] [--ambassador-id ID]
        [--gateway-namespace NS] [--log-level LEVEL]
      Serve the configuration in DIR and/or from the Kubernetes API (in-cluster credentials, or
      --kubeconfig), applying every change live. --namespace (repeatable or a comma list) limits the
      watch; the default is every namespace. One replica, elected with a Lease, writes Mapping and
      Ingress status (--no-status turns that off); Ingress status advertises --publish-address
      (default: the --listen host, else POD_IP, else 127.0.0.1).
      Defaults: --listen 0.0.0.0:8080, --admin 127.0.0.1:8877, --workers one per core.
  validate DIR [--ambassador-id ID] [--gateway-namespace NS] [--strict]
      Print every problem as "file:line kind/namespace/name field: message".
      Exits 1 when an object is rejected (with --strict: on warnings too).
  routes DIR [--json] [--ambassador-id ID] [--gateway-namespace NS]
      Print the compiled route table in evaluation order.
  version
      Print the version.
`;

async function loadIr(dir: string, ambassadorId: string, namespace: string): Promise<Ir> {
  const set = await loadDirectory(dir);
  return buildIrFromSources([set], { ambassadorId, namespace });
}

function offlineArgs(args: readonly string[], extra: Record<string, { type: 'boolean' }>) {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { 'ambassador-id': { type: 'string' }, 'gateway-namespace': { type: 'string' }, ...extra },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    throw new GatewayError('GW_ERR_BOOTSTRAP', { message: 'expected exactly one configuration directory' });
  }
  return {
    dir: positionals[0]!,
    ambassadorId: (values['ambassador-id'] as string | undefined) ?? process.env.AMBASSADOR_ID ?? 'default',
    namespace:
      (values['gateway-namespace'] as string | undefined) ??
      process.env.AMBASSADOR_NAMESPACE ??
      process.env.POD_NAMESPACE ??
      'default',
    flags: values as Record<string, unknown>,
  };
}

async function validate(args: readonly string[]): Promise<number> {
  const { dir, ambassadorId, namespace, flags } = offlineArgs(args, { strict: { type: 'boolean' } });
  const ir = await loadIr(dir, ambassadorId, namespace);
  const lines = formatProblems(ir.statuses);
  for (const line of lines) console.log(line);
  const rejected = ir.statuses.filter((s) => s.state === 'Rejected').length;
  const warnings = ir.statuses.filter((s) => s.state === 'Warning').length;
  const used = ir.statuses.filter((s) => s.state === 'Accepted' || s.state === 'Warning').length;
  console.error(
    `${ir.statuses.length} objects: ${used} in use (${warnings} with warnings), ${rejected} rejected; ${ir.routes.length} routes`,
  );
  return rejected > 0 || (flags.strict === true && warnings > 0) ? 1 : 0;
}

async function routes(args: readonly string[]): Promise<number> {
  const { dir, ambassadorId, namespace, flags } = offlineArgs(args, { json: { type: 'boolean' } });
  const ir = await loadIr(dir, ambassadorId, namespace);
  const rows = describeRoutes(ir);
  console.log(flags.json ? JSON.stringify(rows, null, 2) : formatRouteTable(rows));
  return 0;
}

async function serve(args: readonly string[]): Promise<number> {
  const settings = parseServeArgs(args);
  let onFatal: (() => void) | null = null;
  let fatalSeen = false;
  const gateway = await runGateway(settings, {
    onFatal: () => {
      fatalSeen = true;
      onFatal?.();
    },
  });
  const { logger } = gateway;
  logger.info(
    {
      config: settings.configDir,
      kubernetes: settings.kubernetes
        ? {
            namespaces: settings.kubernetes.namespaces,
            kubeconfig: settings.kubernetes.kubeconfig ?? '(in-cluster/default)',
          }
        : undefined,
      listen: settings.listen,
      admin: gateway.admin.address,
      workers: settings.workers,
    },
    `Legate ${legateVersion()} starting`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, drainMs: settings.drainMs }, 'draining');
      gateway.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    onFatal = () => {
      stopping = true;
      gateway.close().finally(() => resolve(1));
    };
    if (fatalSeen) onFatal();
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'validate':
        return await validate(rest);
      case 'routes':
        return await routes(rest);
      case 'version':
      case '--version':
        console.log(legateVersion());
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (
      err instanceof GatewayError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`legate ${command}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
