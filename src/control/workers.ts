/**
 * `--workers N`: N forked data-plane processes share the listening socket, so every core serves
 * traffic. The control process (this one) runs sources, the reconciler and the admin server; it
 * sends each new IR to every worker, and `apply` resolves once all of them serve it.
 *
 *   control ──{apply seq payload}──► worker k: compile → swap → (first time: listen)
 *           ◄─{applied seq hash}─┘
 *
 * Accept distribution is left to the kernel (SCHED_NONE): every worker accepts on the shared
 * socket, so the control process is never on the request path. A worker that dies is replaced
 * and given the current IR before it listens. The IR is serialised once per configuration (v8
 * serialisation, without the per-object statuses, which only the control process reads) and the
 * same bytes go to every worker: serialising the object graph per worker cost ~200 ms per worker
 * for 10,000 Mappings; copying the bytes costs a few ms. Compiled snapshots never cross.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { HostPort } from '../bootstrap/settings.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ir } from '../ir/types.js';
import type { DataPlaneHost, DataPlaneStatus } from './data-plane-host.js';

/** Messages from the control process to a worker. */
export type ToWorker =
  /** `payload`: `v8.serialize` of the Ir with `statuses` emptied (see `encodeIr`). */
  | { readonly type: 'apply'; readonly seq: number; readonly payload: Uint8Array }
  | { readonly type: 'drain'; readonly drainMs: number };

/** Messages from a worker to the control process. */
export type FromWorker =
  /** The worker listens for messages now; nothing may be sent to it before this. */
  | { readonly type: 'ready' }
  | { readonly type: 'applied'; readonly seq: number; readonly hash: string; readonly address: AddressInfo }
  /** `fatal`: the worker cannot serve at all (its listener could not be opened). */
  | { readonly type: 'apply-failed'; readonly seq: number; readonly error: string; readonly fatal: boolean };

interface WorkerSlot {
  worker: Worker;
  /** The worker said it listens for messages. An ESM entry module loads asynchronously, and a
   * message that arrives before its listener exists is dropped, so nothing is sent before this. */
  ready: boolean;
  /** Last seq this worker acknowledged. */
  appliedSeq: number;
  address: AddressInfo | null;
}

const APPLY_TIMEOUT_MS = 60_000;

/** The worker entry module: .ts under tsx (tests), .js from dist. */
function workerModule(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../dataplane/worker-main${ext}`, import.meta.url));
}

export class WorkerDataPlanes implements DataPlaneHost {
  readonly #count: number;
  readonly #listen: HostPort;
  readonly #slots = new Map<number, WorkerSlot>();
  readonly #waiters = new Set<() => void>();
  readonly #onEvent: (event: string, detail: Record<string, unknown>) => void;
  #seq = 0;
  #ir: Ir | null = null;
  /** The current IR as sent to workers. */
  #payload: Uint8Array | null = null;
  #closing = false;
  #restarts = 0;
  /** Set when a worker cannot serve at all; every pending and later apply fails with it. */
  #fatal: GatewayError | null = null;

  constructor(opts: {
    workers: number;
    listen: HostPort;
    onEvent?: (event: string, detail: Record<string, unknown>) => void;
  }) {
    this.#count = opts.workers;
    this.#listen = opts.listen;
    this.#onEvent = opts.onEvent ?? (() => {});
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({
      exec: workerModule(),
      serialization: 'advanced',
      args: [],
    });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
  }

  /** Number of workers replaced after an unexpected exit. */
  get restarts(): number {
    return this.#restarts;
  }

  async apply(ir: Ir): Promise<void> {
    const seq = ++this.#seq;
    this.#ir = ir;
    this.#payload = encodeIr(ir);
    if (this.#slots.size === 0) {
      for (let i = 0; i < this.#count; i++) this.#fork();
    }
    for (const slot of this.#slots.values()) this.#send(slot, { type: 'apply', seq, payload: this.#payload });
    await this.#waitFor(() => this.#allAt(seq), APPLY_TIMEOUT_MS, `workers to apply configuration ${seq}`);
    if (this.#fatal) throw this.#fatal;
  }

  status(): DataPlaneStatus {
    let current = 0;
    let serving = 0;
    let address: AddressInfo | null = null;
    for (const slot of this.#slots.values()) {
      if (slot.appliedSeq === this.#seq && slot.address) current++;
      if (slot.appliedSeq > 0 && slot.address) serving++;
      address ??= slot.address;
    }
    return {
      expected: this.#count,
      current,
      serving,
      hash: current === this.#count && this.#ir ? this.#ir.hash : null,
      address,
    };
  }

  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      exits.push(
        new Promise<void>((resolve) => {
          if (slot.worker.isDead()) return resolve();
          slot.worker.once('exit', () => resolve());
          if (slot.ready) this.#send(slot, { type: 'drain', drainMs });
          else slot.worker.process.kill('SIGTERM');
          const kill = setTimeout(() => slot.worker.process.kill('SIGKILL'), drainMs + 5000);
          kill.unref();
        }),
      );
    }
    await Promise.all(exits);
  }

  #fork(): void {
    const worker = cluster.fork({
      LEGATE_WORKER: '1',
      LEGATE_LISTEN_HOST: this.#listen.host,
      LEGATE_LISTEN_PORT: String(this.#listen.port),
    });
    const slot: WorkerSlot = { worker, ready: false, appliedSeq: 0, address: null };
    this.#slots.set(worker.id, slot);
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        // A new worker (including a replacement) gets the current configuration before it listens.
        if (this.#payload) this.#send(slot, { type: 'apply', seq: this.#seq, payload: this.#payload });
      } else if (msg.type === 'applied') {
        slot.appliedSeq = Math.max(slot.appliedSeq, msg.seq);
        slot.address = msg.address;
      } else if (msg.type === 'apply-failed') {
        this.#onEvent('worker-apply-failed', { worker: worker.id, seq: msg.seq, error: msg.error });
        if (msg.fatal) this.#fatal ??= new GatewayError('GW_ERR_LISTEN', { message: msg.error });
      }
      this.#notify();
    });
    worker.on('error', () => {
      // 'exit' follows; the slot is replaced there.
    });
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    if (!this.#slots.delete(worker.id)) return;
    this.#notify();
    if (this.#closing) return;
    this.#restarts++;
    this.#onEvent('worker-exit', { worker: worker.id, code, signal });
    // Back off a little when workers die repeatedly, so a crash loop does not spin the CPU.
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.#restarts, 6));
    setTimeout(() => {
      if (!this.#closing) this.#fork();
    }, delay).unref();
  }

  #send(slot: WorkerSlot, msg: ToWorker): void {
    const worker = slot.worker;
    if (!slot.ready || !worker.isConnected()) return;
    worker.send(msg, (err: Error | null) => {
      if (err) this.#onEvent('worker-send-failed', { worker: worker.id, error: err.message });
    });
  }

  #allAt(seq: number): boolean {
    if (this.#slots.size < this.#count) return false;
    for (const slot of this.#slots.values()) {
      if (slot.appliedSeq < seq || !slot.address) return false;
    }
    return true;
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  #waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.#fatal) return Promise.reject(this.#fatal);
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#fatal) finish(this.#fatal);
        else if (this.#seq > 0 && done()) finish(null);
      };
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const finish = (err: Error | null) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.#waiters.add(check);
    });
  }
}

/** The bytes a worker needs to build a snapshot: the IR without its statuses. */
export function encodeIr(ir: Ir): Uint8Array {
  return serialize({ ...ir, statuses: [] });
}

export function decodeIr(payload: Uint8Array): Ir {
  return deserialize(payload) as Ir;
}
