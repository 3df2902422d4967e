/**
 * Prometheus metrics. The data plane keeps plain integer counters on the request path
 * (dataplane/stats.ts); they are read into prom-client metrics only when /metrics is scraped.
 *
 * With --workers N each worker registers its data-plane metrics in its own global registry and
 * the control process aggregates them (prom-client's AggregatorRegistry sums counters across
 * workers); the control process adds its own configuration metrics.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReconcileStats } from '../control/reconciler.js';
import type { DataPlaneStatsSnapshot } from '../dataplane/stats.js';
import type { Ir } from '../ir/types.js';

/** Registers the data-plane counters, read from `stats()` at scrape time. */
export function registerDataPlaneMetrics(
  registry: Registry,
  stats: () => DataPlaneStatsSnapshot | null,
): void {
  const simple: [string, string, (s: DataPlaneStatsSnapshot) => number][] = [
    ['legate_downstream_requests_total', 'Requests received from clients.', (s) => s.downstreamRequests],
    [
      'legate_upstream_requests_total',
      'Requests sent to upstreams (shadow copies excluded).',
      (s) => s.upstreamRequests,
    ],
    ['legate_upstream_responses_total', 'Responses received from upstreams.', (s) => s.upstreamResponses],
    ['legate_redirects_total', 'Requests answered by a redirect route.', (s) => s.redirects],
    [
      'legate_downstream_aborts_total',
      'Client connections aborted because the upstream failed after the response started.',
      (s) => s.downstreamAborts,
    ],
    [
      'legate_downstream_resets_total',
      'Requests the client abandoned before the response completed.',
      (s) => s.downstreamResets,
    ],
    ['legate_shadow_requests_total', 'Mirrored requests sent to shadow upstreams.', (s) => s.shadowRequests],
    ['legate_shadow_skipped_total', 'Requests not mirrored (they had a body).', (s) => s.shadowSkipped],
    [
      'legate_downstream_connections_dropped_total',
      'Client connections closed at accept because max_connections was reached.',
      (s) => s.droppedConnections,
    ],
  ];
  for (const [name, help, read] of simple) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const s = stats();
        this.reset();
        if (s) this.inc(read(s));
      },
    });
  }
  new Counter({
    name: 'legate_local_replies_total',
    help: 'Responses Legate generated itself, by error code, status and response flag.',
    labelNames: ['code', 'status', 'flag'],
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      if (!s) return;
      for (const r of s.localReplies)
        this.inc({ code: r.code, status: String(r.status), flag: r.flag }, r.count);
    },
  });
}

/** Registers the control process's configuration metrics. */
export function registerControlMetrics(
  registry: Registry,
  state: () => { ir: Ir | null; reconcile: ReconcileStats },
): void {
  new Gauge({
    name: 'legate_config_resources',
    help: 'Configuration objects in the live configuration, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { ir } = state();
      this.reset();
      const counts: Record<string, number> = { Accepted: 0, Warning: 0, Rejected: 0, Ignored: 0 };
      for (const s of ir?.statuses ?? []) counts[s.state] = (counts[s.state] ?? 0) + 1;
      for (const [k, v] of Object.entries(counts)) this.set({ state: k }, v);
    },
  });
  new Gauge({
    name: 'legate_routes',
    help: 'Routes in the live configuration.',
    registers: [registry],
    collect() {
      this.set(state().ir?.routes.length ?? 0);
    },
  });
  const reconcileCounters: [string, string, (r: ReconcileStats) => number][] = [
    ['legate_config_applied_total', 'Configurations applied.', (r) => r.applied],
    [
      'legate_config_failures_total',
      'Configuration builds or applies that failed (the previous one stayed live).',
      (r) => r.failures,
    ],
    [
      'legate_config_skipped_total',
      'Rebuilds skipped because nothing changed.',
      (r) => r.skippedSameInput + r.skippedSameIr,
    ],
  ];
  for (const [name, help, read] of reconcileCounters) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(state().reconcile));
      },
    });
  }
  new Gauge({
    name: 'legate_config_build_seconds',
    help: 'Duration of the last configuration build (resources and IR).',
    registers: [registry],
    collect() {
      this.set(state().reconcile.lastBuildMs / 1000);
    },
  });
  new Gauge({
    name: 'legate_config_apply_seconds',
    help: 'Duration of the last apply (compile and swap on every data plane).',
    registers: [registry],
    collect() {
      this.set(state().reconcile.lastApplyMs / 1000);
    },
  });
}
