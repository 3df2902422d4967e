/**
 * `--workers 2`: every worker serves the current configuration, reloads reach every worker before
 * they count as applied, and a worker that dies is replaced with the current configuration.
 */
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { test } from 'node:test';
import { request } from 'undici';
import { docs, mapping, startTestGateway, startUpstream } from './gateway-harness.js';

async function getUpstreamName(url: string): Promise<string> {
  const res = await request(`${url}/svc/x`, { reset: true });
  await res.body.text();
  return `${res.statusCode} ${String(res.headers['x-upstream'])}`;
}

test('two workers: serve, reload on both, replace a dead worker', async (t) => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  const gw = await startTestGateway(
    { 'config.yaml': docs(mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${a.port}` })) },
    { workers: 2 },
  );
  t.after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });
  const workerPids = () => Object.values(cluster.workers ?? {}).map((w) => w?.process.pid);
  assert.equal(workerPids().length, 2);
  assert.equal(gw.gateway.readiness().ready, true);

  // New connections each time (reset), so the kernel spreads them over both workers.
  for (let i = 0; i < 20; i++) assert.equal(await getUpstreamName(gw.url), '200 a');

  await gw.write('config.yaml', docs(mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${b.port}` })));
  await gw.waitForIr((ir) => ir.clusters.some((c) => c.endpoints.some((e) => e.port === b.port)));
  // Applied means applied on every worker: no connection may still see the old route.
  for (let i = 0; i < 20; i++) assert.equal(await getUpstreamName(gw.url), '200 b');

  const victim = Object.values(cluster.workers ?? {})[0]!;
  const victimPid = victim.process.pid;
  victim.process.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const pids = workerPids();
    if (pids.length === 2 && !pids.includes(victimPid) && gw.gateway.readiness().ready) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(!workerPids().includes(victimPid), 'the dead worker was replaced');
  assert.equal(gw.gateway.readiness().ready, true, 'ready again with two workers');
  for (let i = 0; i < 20; i++) assert.equal(await getUpstreamName(gw.url), '200 b');

  // /metrics sums the workers' counters: at least the 20 requests since the restart (the dead
  // worker's counts went with it), and every request so far at most.
  const res = await request(`${gw.adminUrl}/metrics`);
  const text = await res.body.text();
  const m = /^legate_downstream_requests_total (\d+)$/m.exec(text);
  assert.ok(m, 'aggregated request counter present');
  assert.ok(Number(m[1]) >= 20 && Number(m[1]) <= 60, `legate_downstream_requests_total ${m[1]}`);
});

test('two workers: readiness holds through a burst of reloads (a worker a reload behind still serves)', async (t) => {
  const a = await startUpstream('a');
  const config = (rev: number) =>
    docs(
      mapping('svc', {
        prefix: '/svc/',
        service: `127.0.0.1:${a.port}`,
        add_request_headers: { 'x-rev': { value: `rev-${rev}` } },
      }),
    );
  const gw = await startTestGateway({ 'config.yaml': config(0) }, { workers: 2 });
  t.after(async () => {
    await gw.close();
    await a.close();
  });
  assert.equal(gw.gateway.readiness().ready, true);
  // Probe far more often than a kubelet would, to catch the window between a reload reaching
  // the primary and every worker acknowledging it.
  const notReady: string[] = [];
  const probe = setInterval(() => {
    const r = gw.gateway.readiness();
    if (!r.ready) notReady.push(r.reason);
  }, 1);
  t.after(() => clearInterval(probe));
  for (let rev = 1; rev <= 15; rev++) {
    await gw.write('config.yaml', config(rev));
    await gw.waitForIr((ir) => JSON.stringify(ir.routes).includes(`"rev-${rev}"`));
    // Let the workers acknowledge before the next write, so each reload opens its own window.
    await new Promise((r) => setTimeout(r, 30));
  }
  clearInterval(probe);
  assert.deepEqual(notReady, [], 'readiness never dropped during reloads');
  assert.equal(await getUpstreamName(gw.url), '200 a');
});
