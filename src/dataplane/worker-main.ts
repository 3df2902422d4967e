/**
 * Entry point of a data-plane worker process (forked by control/workers.ts). Receives IRs from
 * the control process, compiles and swaps them, listens after the first one, and acknowledges each.
 * On `drain` it stops accepting, lets in-flight requests finish, and exits.
 */
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, collectDefaultMetrics, register } from 'prom-client';
import { listenOrFail, SnapshotApplier } from '../control/data-plane-host.js';
import type { FromWorker, ToWorker } from '../control/workers.js';
import { decodeIr } from '../control/workers.js';
import { GatewayError } from '../errors/gateway-error.js';
import { registerDataPlaneMetrics } from '../observability/metrics.js';
import type { DataPlane } from './index.js';

const applier = new SnapshotApplier();
const listen = {
  host: process.env.LEGATE_LISTEN_HOST ?? '0.0.0.0',
  port: Number(process.env.LEGATE_LISTEN_PORT ?? 8080),
};
let plane: DataPlane | null = null;
let queue: Promise<void> = Promise.resolve();

// The control process's AggregatorRegistry collects this process's global registry over IPC.
// prom-client installs the worker side of that exchange only when an AggregatorRegistry is
// constructed, so one is made here, unused otherwise.
new AggregatorRegistry();
collectDefaultMetrics({ prefix: 'legate_' });
registerDataPlaneMetrics(register, () => plane?.stats.snapshot() ?? null);

function reply(msg: FromWorker): void {
  process.send?.(msg);
}

async function onApply(seq: number, payload: Uint8Array): Promise<void> {
  try {
    const ir = decodeIr(payload);
    applier.apply(ir);
    if (!plane) {
      plane = await listenOrFail(applier.store, listen);
      applier.attach(plane);
    }
    reply({ type: 'applied', seq, hash: ir.hash, address: plane.address as AddressInfo });
  } catch (err) {
    const fatal = err instanceof GatewayError && err.code === 'GW_ERR_LISTEN';
    reply({ type: 'apply-failed', seq, error: err instanceof Error ? err.message : String(err), fatal });
  }
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'apply') {
    // Applies are serialised so acknowledgements arrive in order.
    queue = queue.then(() => onApply(msg.seq, msg.payload));
  } else if (msg.type === 'drain') {
    void (async () => {
      await plane?.close({ drainMs: msg.drainMs });
      process.exit(0);
    })();
  }
});
// Only now can messages be received; the control process sends nothing before this.
reply({ type: 'ready' });

// The control process owns signals; a worker ignores SIGINT/SIGTERM sent to the process group and
// waits for its `drain` message instead.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));
