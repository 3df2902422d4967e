/**
 * Measurements against the real API server (printed, never asserted; run with
 * LEGATE_K8S_MEASURE=1 npm run test:k8s -- or node scripts/run-tests.mjs test/k8s/measure.test.ts):
 * - create → first routed request: median and p99 over 100 Mapping creations;
 * - reconcile cost with 1,000 and 10,000 Mappings in the API: the paged list, the whole build
 *   (resources → IR), a gateway start to ready, and one change at that size until it is routed.
 */
import { test } from 'node:test';
import { buildIrFromSources } from '../../src/main.js';
import { KubeConfigClient } from '../../src/sources/kubernetes/client.js';
import { loadKubeConfig } from '../../src/sources/kubernetes/config.js';
import { KubernetesSource } from '../../src/sources/kubernetes/kubernetes-source.js';
import {
  adminApi,
  emissaryShapedCrd,
  eventually,
  routesTo,
  startK8sGateway,
  startNetnsUpstream,
  waitForCrd,
} from './gateway-support.js';
import { startCluster } from './harness.js';
import { createTestNetns, netnsUnavailable } from './netns.js';

const enabled = process.env.LEGATE_K8S_MEASURE === '1';
/** The upstream sits behind an EndpointSlice, so it runs in a test network namespace. */
function skipReason(): string | false {
  if (!enabled) return 'set LEGATE_K8S_MEASURE=1 to measure';
  const noNetns = netnsUnavailable();
  return noNetns ? `needs a test network namespace: ${noNetns}` : false;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test('measure: create → routed latency and reconcile cost at 1k / 10k Mappings', {
  skip: skipReason(),
  timeout: 1_800_000,
}, async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.close());
  const api = adminApi(cluster);
  const NS = 'bench';
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  for (const kind of ['Mapping', 'Module'] as const) {
    await api.ext.createCustomResourceDefinition({ body: emissaryShapedCrd(kind) });
    await waitForCrd(api, `${kind.toLowerCase()}s.getambassador.io`);
  }
  const net = createTestNetns();
  t.after(() => net.close());
  const up = await startNetnsUpstream(net, 'up');
  t.after(() => up.close());
  await api.core.createNamespacedService({
    namespace: NS,
    body: { metadata: { name: 'up', namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } },
  });
  await api.discovery.createNamespacedEndpointSlice({
    namespace: NS,
    body: {
      metadata: { name: 'up-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'up' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [up.address], conditions: { ready: true } }],
      ports: [{ name: 'http', port: up.port, protocol: 'TCP' }],
    },
  });
  const crd = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'mappings' };
  const body = (name: string) => ({
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Mapping',
    metadata: { name, namespace: NS },
    spec: { hostname: '*', prefix: `/${name}/`, service: `up.${NS}:80` },
  });

  // 1. create → first routed request.
  {
    const gw = await startK8sGateway(cluster.kubeconfigPath, { updateStatus: false });
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const name = `lat-${i}`;
      const t0 = performance.now();
      await api.custom.createNamespacedCustomObject({ ...crd, body: body(name) });
      await eventually(name, () => routesTo(gw.url, `/${name}/`, 'up'), 10_000, 1);
      times.push(performance.now() - t0);
    }
    await gw.close();
    const slowest = times.indexOf(Math.max(...times));
    times.sort((a, b) => a - b);
    console.log(
      `create → routed over 100 Mappings: median ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${times[99]!.toFixed(1)} ms (change #${slowest + 1})`,
    );
  }

  // 2. reconcile cost at size.
  let have = 100;
  for (const size of [1_000, 10_000]) {
    const tc = performance.now();
    let next = have;
    const worker = async () => {
      while (next < size) {
        const i = next++;
        await api.custom.createNamespacedCustomObject({ ...crd, body: body(`m-${i}`) });
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    have = size;
    const createMs = performance.now() - tc;

    const client = new KubeConfigClient(loadKubeConfig(cluster.kubeconfigPath));
    const source = new KubernetesSource({ client, debounceMs: 0 });
    const ac = new AbortController();
    const tl = performance.now();
    let snapshot: Parameters<typeof buildIrFromSources>[0][number] | undefined;
    await source.start(ac.signal, (s) => {
      snapshot ??= s;
    });
    const listMs = performance.now() - tl;
    ac.abort();
    await client.close();
    const builds: number[] = [];
    let routes = 0;
    for (let i = 0; i < 5; i++) {
      const tb = performance.now();
      const ir = buildIrFromSources([snapshot!], { ambassadorId: 'default', namespace: 'default' });
      builds.push(performance.now() - tb);
      routes = ir.routes.length;
    }
    builds.sort((a, b) => a - b);

    const tg = performance.now();
    const gw = await startK8sGateway(cluster.kubeconfigPath, { updateStatus: false });
    const startMs = performance.now() - tg;
    const tx = performance.now();
    await api.custom.createNamespacedCustomObject({ ...crd, body: body(`extra-${size}`) });
    await eventually('extra', () => routesTo(gw.url, `/extra-${size}/`, 'up'), 60_000, 2);
    const changeMs = performance.now() - tx;
    const stats = gw.gateway.reconciler.stats;
    await gw.close();
    console.log(
      `${size} Mappings (${snapshot!.objects.length} objects, ${routes} routes): create ${(createMs / 1000).toFixed(1)} s; ` +
        `list (all kinds, pages of 500) ${listMs.toFixed(0)} ms; build median ${pct(builds, 50).toFixed(0)} ms; ` +
        `gateway start → ready ${startMs.toFixed(0)} ms; one change → routed ${changeMs.toFixed(0)} ms ` +
        `(last build ${stats.lastBuildMs.toFixed(0)} ms, apply ${stats.lastApplyMs.toFixed(0)} ms)`,
    );
  }
});
