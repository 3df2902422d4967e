/**
 * The data plane's entry point: wires the HTTP/1.1 listener, the per-request stream, the cluster
 * registry, the coarse timer and the shadow sender. Called by the composition root (one call per
 * process or worker); contains no request logic of its own.
 *
 * Snapshot → cluster state: the root calls `clusters.update(next.clusters)` on every swap (before
 * or after `store.swap`, either works). As a safety net the stream also applies a newer snapshot's
 * clusters itself on the first request that sees it (`ClusterRegistry.sync`), and `resolve` builds
 * a cluster it does not know from the request's own snapshot, so no ordering between swap and update
 * can fail a request.
 *
 * Snapshot → listener limits: the same root calls `applySettings(next.settings)` on every swap and
 * once at start (the Module's edge limits: head size, head/request/idle timeouts, connections,
 * requests per connection). It is cheap and idempotent: an unchanged settings object is skipped by
 * identity. As with clusters, the stream also hands the settings of the snapshot it reads to
 * `applySettings`, so a store swapped without the call still brings its limits in on the next
 * request. Explicit `DataPlaneOptions.http` values override the snapshot's.
 *
 * `close()` drains: the listener stops accepting and lets in-flight requests finish (up to
 * `drainMs`), then every upstream pool is closed.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { IrSettings } from '../ir/types.js';
import { HTTP1_DEFAULTS, Http1Listener, type ListenerLimits, withLimits } from './listeners/http1.js';
import { DataPlaneStats } from './stats.js';
import { createStreamHandler, type SnapshotSource, type StreamContext } from './stream/exchange.js';
import { ClusterRegistry } from './upstream/clusters.js';
import { ShadowSender } from './upstream/shadow.js';
import { CoarseTimer } from './upstream/timeouts.js';

export { DataPlaneStats } from './stats.js';
export type { SnapshotSource } from './stream/exchange.js';
export { ClusterRegistry } from './upstream/clusters.js';

export interface DataPlaneOptions {
  readonly store: SnapshotSource;
  readonly listen: { readonly host: string; readonly port: number };
  /** Listener limits that override the snapshot's settings (tests use them). Each one left out
   * follows the live snapshot (see `listenerLimits`); defaults in listeners/http1.ts apply before
   * the first snapshot. */
  readonly http?: Partial<ListenerLimits>;
  /** Uniform in [0, 1); injected by tests. Default `Math.random`. */
  readonly random?: () => number;
  /** Coarse timer tick in ms (timeout precision). Default 50. */
  readonly timerTickMs?: number;
  /** Upstream failures are logged at debug level when given. */
  readonly logger?: Logger;
}

export interface DataPlane {
  readonly address: AddressInfo;
  readonly clusters: ClusterRegistry;
  readonly stats: DataPlaneStats;
  /** Requests in flight on the listener. */
  readonly inflight: number;
  /** Applies a snapshot's listener limits (skipped when `settings` is the object last applied). */
  applySettings(settings: IrSettings): void;
  close(opts?: { readonly drainMs?: number }): Promise<void>;
}

/**
 * The listener limits for `settings` (the Module's keys, defaults already applied), with `http`
 * overriding any of them. `max_request_headers_kb` → bytes; 0 keeps its meaning of "off" for the
 * others (node treats a 0 timeout or request limit as none; http1.ts maps 0 connections to none).
 */
export function listenerLimits(
  settings: IrSettings | null,
  http: Partial<ListenerLimits> = {},
): ListenerLimits {
  const base: ListenerLimits =
    settings === null
      ? HTTP1_DEFAULTS
      : {
          headersTimeoutMs: settings.requestHeadersTimeoutMs,
          requestTimeoutMs: settings.requestTimeoutMs,
          keepAliveTimeoutMs: settings.listenerIdleTimeoutMs,
          maxHeaderBytes: settings.maxRequestHeadersKb * 1024,
          maxConnections: settings.maxConnections,
          maxRequestsPerConnection: settings.maxRequestsPerConnection,
        };
  return withLimits(base, http);
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const clusters = new ClusterRegistry();
  const stats = new DataPlaneStats();
  const timer = new CoarseTimer({ tickMs: opts.timerTickMs ?? 50 });
  const random = opts.random ?? Math.random;
  const initial = opts.store.current;
  if (initial !== null) clusters.sync(initial);
  const logger = opts.logger;
  const http = opts.http ?? {};
  let applied: IrSettings | null = initial === null ? null : initial.settings;
  let listener: Http1Listener | null = null;
  const applySettings = (settings: IrSettings): void => {
    if (settings === applied || listener === null) return;
    applied = settings;
    listener.applyLimits(listenerLimits(settings, http));
  };
  const ctx: StreamContext = {
    store: opts.store,
    clusters,
    stats,
    timer,
    random,
    scheme: 'http',
    shadow: new ShadowSender({ clusters, stats, random, timer }),
    onUpstreamError:
      logger === undefined
        ? null
        : (err, routeId) => {
            if (logger.isLevelEnabled('debug'))
              logger.debug({ err, route: routeId }, 'upstream request failed');
          },
    onSettings: applySettings,
  };
  const started = await Http1Listener.start({
    host: opts.listen.host,
    port: opts.listen.port,
    handler: createStreamHandler(ctx),
    onClientError: (code) => stats.localReply(code),
    onConnectionDropped: () => {
      stats.droppedConnections++;
    },
    ...listenerLimits(applied, http),
  });
  listener = started;

  let closing: Promise<void> | null = null;
  return {
    address: started.address,
    clusters,
    stats,
    get inflight() {
      return started.inflight;
    },
    applySettings,
    close(closeOpts = {}) {
      closing ??= (async () => {
        await started.close(closeOpts.drainMs === undefined ? {} : { drainMs: closeOpts.drainMs });
        timer.close();
        await clusters.close({ force: true });
      })();
      return closing;
    },
  };
}
