/**
 * Leader election over a `coordination.k8s.io/v1` Lease, so that exactly one replica writes
 * Kubernetes status. Created by the composition root when the Kubernetes source is on; the status
 * writer asks `isLeader` before every write. Every replica serves traffic either way.
 *
 * The algorithm is client-go's leaderelection, reduced to what status writing needs:
 * - Every `retryPeriodMs` (jittered) each replica reads the Lease. Absent → create it holding it.
 *   Held by us → renew (`renewTime`). Held by another → take it over only when the record has not
 *   changed for `leaseDurationMs` as measured on OUR clock since we first saw that record (never
 *   comparing the holder's timestamps with our clock, so clock skew cannot cause two leaders).
 * - Writes are `PUT` with the observed `resourceVersion`: of two replicas racing, one gets 409.
 * - A leader that could not renew for `renewDeadlineMs` (< lease duration) steps down on its own,
 *   before anyone else may take over.
 * - On abort the leader releases the Lease (empty holder, 1 s duration) so a successor starts
 *   within one retry period instead of a whole lease duration.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jittered, realTimers, sleep, type Timers } from '../sources/kubernetes/backoff.js';
import { isKubeStatus, type KubeClient } from '../sources/kubernetes/client.js';

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (default: `POD_NAME` or hostname, plus pid and a random suffix). */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly onChange?: (leader: boolean) => void;
  readonly log?: (level: 'info' | 'warn', msg: string, fields?: object) => void;
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME || hostname()}_${process.pid}_${randomUUID().slice(0, 8)}`;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  readonly #o: LeaderElectorOptions;
  readonly #timers: Timers;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #leader = false;
  #lastRenew = 0;
  /** The holder/renewTime record last seen, and when (our clock) it was first seen. */
  #observed = '';
  #observedAt = 0;
  readonly stats = { acquired: 0, renewals: 0, lost: 0, conflicts: 0, errors: 0 };

  constructor(opts: LeaderElectorOptions) {
    this.#o = opts;
    this.identity = opts.identity ?? defaultIdentity();
    this.#timers = opts.timers ?? realTimers;
    this.#leaseMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/leases`;
  }

  /** Runs until `signal` aborts; then releases the Lease if held. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.tryAcquireOrRenew(signal);
      if (this.#leader && this.#timers.now() - this.#lastRenew > this.#renewDeadlineMs) {
        this.#set(false, 'could not renew the lease in time; stepping down');
      }
      await sleep(this.#timers, jittered(this.#retryMs, 0.2, this.#o.random), signal);
    }
    await this.release();
  }

  /** One round of the algorithm (exposed for tests). */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<void> {
    const now = this.#timers.now();
    let lease: LeaseObject | undefined;
    try {
      lease = await this.#o.client.request<LeaseObject>({
        method: 'GET',
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (!isKubeStatus(err, 404)) {
        this.stats.errors++;
        this.#o.log?.('warn', 'cannot read the leader lease', { err: String(err) });
        return;
      }
    }
    try {
      if (!lease) {
        await this.#o.client.request({
          method: 'POST',
          path: this.#path,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: this.#spec(now, now, 0),
          },
          ...(signal ? { signal } : {}),
        });
        this.#renewed(now, true);
        return;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const record = `${holder}|${spec.renewTime ?? ''}|${spec.leaseTransitions ?? 0}`;
      if (record !== this.#observed) {
        this.#observed = record;
        this.#observedAt = now;
      }
      const mine = holder === this.identity;
      if (!mine && holder !== '') {
        const durationMs = (spec.leaseDurationSeconds ?? this.#leaseMs / 1000) * 1000;
        if (now - this.#observedAt < durationMs) {
          if (this.#leader) this.#set(false, `lease held by ${holder}`);
          return;
        }
      }
      const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
      const acquire = mine && spec.acquireTime ? Date.parse(spec.acquireTime) : now;
      await this.#o.client.request({
        method: 'PUT',
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...lease.metadata },
          spec: this.#spec(Number.isNaN(acquire) ? now : acquire, now, transitions),
        },
        ...(signal ? { signal } : {}),
      });
      this.#renewed(now, !mine);
    } catch (err) {
      if (isKubeStatus(err, 409)) {
        this.stats.conflicts++;
        return; // someone else wrote first; the next round re-reads
      }
      this.stats.errors++;
      this.#o.log?.('warn', 'cannot write the leader lease', { err: String(err) });
    }
  }

  /** Gives the lease up if held (shutdown). */
  async release(): Promise<void> {
    if (!this.#leader) return;
    this.#set(false, 'released');
    try {
      const lease = await this.#o.client.request<LeaseObject>({
        method: 'GET',
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
      });
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.#o.client.request({
        method: 'PUT',
        path: `${this.#path}/${encodeURIComponent(this.#o.name)}`,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: null },
        },
      });
    } catch {
      // Best effort: the lease expires on its own.
    }
  }

  #spec(acquireMs: number, renewMs: number, transitions: number): LeaseObject['spec'] {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
      acquireTime: microTime(acquireMs),
      renewTime: microTime(renewMs),
      leaseTransitions: transitions,
    };
  }

  #renewed(now: number, acquired: boolean): void {
    this.#lastRenew = now;
    this.stats.renewals++;
    if (acquired || !this.#leader) {
      this.stats.acquired++;
      this.#set(true, 'acquired the lease');
    }
  }

  #set(leader: boolean, why: string): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (!leader) this.stats.lost++;
    this.#o.log?.('info', leader ? 'now the status leader' : 'no longer the status leader', {
      identity: this.identity,
      lease: `${this.#o.namespace}/${this.#o.name}`,
      why,
    });
    try {
      this.#o.onChange?.(leader);
    } catch {
      // A throwing listener must not break the election loop.
    }
  }
}
