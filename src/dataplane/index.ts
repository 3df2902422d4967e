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
 * `close()` drains: the listener stops accepting and lets in-flight requests finish (up to
 * `drainMs`), then every upstream pool is closed.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Http1Listener } from './listeners/http1.js';
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
  /** Listener timeouts; defaults in listeners/http1.ts. `keepAliveTimeoutMs` defaults to the
   * snapshot's `listener_idle_timeout_ms` when set. */
  readonly http?: {
    readonly headersTimeoutMs?: number;
    readonly requestTimeoutMs?: number;
    readonly keepAliveTimeoutMs?: number;
    /** Default: the snapshot's `max_request_headers_kb` at start, else 60 KiB. Read once. */
    readonly maxHeaderBytes?: number;
  };
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
  close(opts?: { readonly drainMs?: number }): Promise<void>;
}

export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const clusters = new ClusterRegistry();
  const stats = new DataPlaneStats();
  const timer = new CoarseTimer({ tickMs: opts.timerTickMs ?? 50 });
  const random = opts.random ?? Math.random;
  const initial = opts.store.current;
  if (initial !== null) clusters.sync(initial);
  const logger = opts.logger;
  const ctx: StreamContext = {
    store: opts.store,
    clusters,
    stats,
    timer,
    random,
    scheme: 'http',
    shadow: new ShadowSender({ clusters, stats, random }),
    onUpstreamError:
      logger === undefined
        ? null
        : (err, routeId) => {
            if (logger.isLevelEnabled('debug'))
              logger.debug({ err, route: routeId }, 'upstream request failed');
          },
  };
  const http = opts.http ?? {};
  const settings = initial?.settings;
  const listener = await Http1Listener.start({
    host: opts.listen.host,
    port: opts.listen.port,
    handler: createStreamHandler(ctx),
    onClientError: (code) => stats.localReply(code),
    ...(http.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: http.headersTimeoutMs }),
    ...(http.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: http.requestTimeoutMs }),
    ...(http.keepAliveTimeoutMs !== undefined
      ? { keepAliveTimeoutMs: http.keepAliveTimeoutMs }
      : settings !== undefined && settings.listenerIdleTimeoutMs > 0
        ? { keepAliveTimeoutMs: settings.listenerIdleTimeoutMs }
        : {}),
    ...(http.maxHeaderBytes !== undefined
      ? { maxHeaderBytes: http.maxHeaderBytes }
      : settings !== undefined && settings.maxRequestHeadersKb > 0
        ? { maxHeaderBytes: settings.maxRequestHeadersKb * 1024 }
        : {}),
  });

  let closing: Promise<void> | null = null;
  return {
    address: listener.address,
    clusters,
    stats,
    get inflight() {
      return listener.inflight;
    },
    close(closeOpts = {}) {
      closing ??= (async () => {
        await listener.close(closeOpts.drainMs === undefined ? {} : { drainMs: closeOpts.drainMs });
        timer.close();
        await clusters.close({ force: true });
      })();
      return closing;
    },
  };
}
