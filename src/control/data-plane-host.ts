/**
 * Where IRs become live snapshots. Two implementations of one contract:
 *
 * - `LocalDataPlane`: the data plane runs in this process (`--workers 1`, tests).
 * - `WorkerDataPlanes` (workers.ts): one data plane per forked worker; the IR is sent to each.
 *
 * `apply(ir)` resolves once every data plane serves the new snapshot, so the reconciler and
 * /ready know exactly which configuration is live. Compiling happens inside each data plane:
 * compiled snapshots hold closures and RegExps and never cross a process boundary.
 */
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../bootstrap/settings.js';
import { type DataPlane, startDataPlane } from '../dataplane/index.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ir } from '../ir/types.js';
import { compileSnapshot } from '../snapshot/compile.js';
import { SnapshotStore } from '../snapshot/store.js';

export interface DataPlaneStatus {
  /** Number of data planes (workers) expected. */
  readonly expected: number;
  /** Data planes that are listening and serve the latest applied IR. */
  readonly current: number;
  /** Data planes that are listening and serve some IR (the latest or an earlier one): readiness.
   * A worker a reload or two behind still serves, so a burst of reloads never flaps `/ready`. */
  readonly serving: number;
  /** Hash of the IR every data plane serves, or null while they differ / before the first. */
  readonly hash: string | null;
  /** Where the proxy listens (resolved port when 0 was asked for). */
  readonly address: AddressInfo | null;
}

export interface DataPlaneHost {
  apply(ir: Ir): Promise<void>;
  status(): DataPlaneStatus;
  /** Stop accepting, let in-flight requests finish (up to `drainMs`), then close. */
  close(drainMs: number): Promise<void>;
}

/** Compiles an IR and swaps it into a store + cluster registry. Shared by both hosts. */
export class SnapshotApplier {
  readonly store = new SnapshotStore();
  #version = 0;
  #plane: DataPlane | null = null;

  attach(plane: DataPlane): void {
    this.#plane = plane;
    const snap = this.store.current;
    if (snap) {
      plane.clusters.update(snap.clusters);
      plane.applySettings(snap.settings);
    }
  }

  apply(ir: Ir): void {
    const next = compileSnapshot(ir, ++this.#version);
    // Clusters first: a request that sees the new snapshot must find its clusters ready.
    this.#plane?.clusters.update(next.clusters);
    // Listener limits (Module edge limits) follow the snapshot; new connections get them.
    this.#plane?.applySettings(next.settings);
    this.store.swap(next);
  }
}

export class LocalDataPlane implements DataPlaneHost {
  readonly #applier = new SnapshotApplier();
  readonly #listen: HostPort;
  #plane: DataPlane | null = null;
  #starting: Promise<DataPlane> | null = null;

  constructor(opts: { listen: HostPort }) {
    this.#listen = opts.listen;
  }

  get store(): SnapshotStore {
    return this.#applier.store;
  }

  get plane(): DataPlane | null {
    return this.#plane;
  }

  async apply(ir: Ir): Promise<void> {
    this.#applier.apply(ir);
    // Listen only once there is a configuration to serve, so no request meets an empty gateway.
    if (!this.#plane) {
      this.#starting ??= listenOrFail(this.#applier.store, this.#listen);
      try {
        this.#plane = await this.#starting;
      } catch (err) {
        this.#starting = null;
        throw err;
      }
      this.#applier.attach(this.#plane);
    }
  }

  status(): DataPlaneStatus {
    const snap = this.#applier.store.current;
    const up = this.#plane !== null && snap !== null;
    return {
      expected: 1,
      current: up ? 1 : 0,
      serving: up ? 1 : 0,
      hash: up ? snap.hash : null,
      address: this.#plane?.address ?? null,
    };
  }

  async close(drainMs: number): Promise<void> {
    const plane = this.#plane ?? (this.#starting ? await this.#starting : null);
    await plane?.close({ drainMs });
  }
}

/** Starts a data plane; a listener that cannot be opened becomes GW_ERR_LISTEN (fatal). */
export async function listenOrFail(store: SnapshotStore, listen: HostPort): Promise<DataPlane> {
  try {
    return await startDataPlane({ store, listen });
  } catch (err) {
    throw new GatewayError('GW_ERR_LISTEN', {
      message: `cannot listen on ${listen.host}:${listen.port}: ${err instanceof Error ? err.message : String(err)}`,
      cause: err,
    });
  }
}
