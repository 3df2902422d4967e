/**
 * Entry point of a data-plane worker process (forked by control/workers.ts). Receives IRs from
 * the control process, compiles and swaps them, listens after the first one, and acknowledges each.
 * On `drain` it stops accepting, lets in-flight requests finish, and exits.
 */
import type { AddressInfo } from 'node:net';
import { SnapshotApplier } from '../control/data-plane-host.js';
import type { FromWorker, ToWorker } from '../control/workers.js';
import { type DataPlane, startDataPlane } from './index.js';

const applier = new SnapshotApplier();
const listen = {
  host: process.env.LEGATE_LISTEN_HOST ?? '0.0.0.0',
  port: Number(process.env.LEGATE_LISTEN_PORT ?? 8080),
};
let plane: DataPlane | null = null;
let queue: Promise<void> = Promise.resolve();

function reply(msg: FromWorker): void {
  process.send?.(msg);
}

async function onApply(seq: number, ir: ToWorker & { type: 'apply' }): Promise<void> {
  try {
    applier.apply(ir.ir);
    if (!plane) {
      plane = await startDataPlane({ store: applier.store, listen });
      applier.attach(plane);
    }
    reply({ type: 'applied', seq, hash: ir.ir.hash, address: plane.address as AddressInfo });
  } catch (err) {
    reply({ type: 'apply-failed', seq, error: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'apply') {
    // Applies are serialised so acknowledgements arrive in order.
    queue = queue.then(() => onApply(msg.seq, msg));
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
