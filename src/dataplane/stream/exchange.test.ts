/**
 * Convention 6: every request's Exchange has one shape (hidden class), whichever path the request
 * takes (proxied GET, proxied POST with a body, local 404), so the per-request code stays
 * monomorphic. Checked two ways: own-property names in order (fastify's same-shape test), and
 * V8's own `%HaveSameMap` in a child process started with `--allow-natives-syntax`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { cluster, irRoute, snapshotOf } from '../../../test/integration/dataplane-harness.js';
import { Http1Listener } from '../listeners/http1.js';
import { DataPlaneStats } from '../stats.js';
import { ClusterRegistry } from '../upstream/clusters.js';
import { CoarseTimer } from '../upstream/timeouts.js';
import { createStreamHandler, type Exchange } from './exchange.js';

/** Runs a proxied GET, a proxied POST and a 404 through one data plane; returns their Exchanges. */
export async function threeExchanges(t: TestContext | null): Promise<Exchange[]> {
  const origin = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = (origin.address() as AddressInfo).port;
  const snap = snapshotOf(
    [irRoute(0, { path: '/proxy/', targets: [{ cluster: 'c' }] })],
    [cluster('c', [port])],
  );
  const clusters = new ClusterRegistry();
  const timer = new CoarseTimer();
  const inner = createStreamHandler({
    store: { current: snap },
    clusters,
    stats: new DataPlaneStats(),
    timer,
    random: Math.random,
    scheme: 'http',
    shadow: null,
    onUpstreamError: null,
  });
  const seen: Exchange[] = [];
  const listener = await Http1Listener.start({
    host: '127.0.0.1',
    port: 0,
    handler: (req, res) => {
      const ex = inner(req, res);
      if (ex !== null) seen.push(ex as Exchange);
      return ex;
    },
  });
  const close = async (): Promise<void> => {
    await listener.close({ drainMs: 100 });
    timer.close();
    await clusters.close({ force: true });
    origin.closeAllConnections();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
  };
  t?.after(close);
  const base = `http://127.0.0.1:${listener.address.port}`;
  const get = await request(`${base}/proxy/a`);
  await get.body.text();
  const post = await request(`${base}/proxy/b`, { method: 'POST', body: 'x'.repeat(1000) });
  await post.body.text();
  const missing = await request(`${base}/missing`);
  await missing.body.text();
  if (t === null) await close();
  assert.deepEqual([get.statusCode, post.statusCode, missing.statusCode], [200, 200, 404]);
  return seen;
}

// The %HaveSameMap child imports this file for `threeExchanges`; it must not register the tests.
if (process.env.LEGATE_SHAPE_CHILD !== '1') {
  test('every Exchange has the same own properties in the same order', async (t) => {
    t.plan(4);
    const seen = await threeExchanges(t);
    t.assert.equal(seen.length, 3);
    const keys = seen.map((ex) => Object.keys(ex).join(','));
    t.assert.equal(keys[0].includes('abortUpstream'), true, 'fields are own properties');
    t.assert.equal(keys[1], keys[0], 'proxied POST vs proxied GET');
    t.assert.equal(keys[2], keys[0], 'local reply vs proxied GET');
  });

  test('V8 gives every Exchange the same hidden class (%HaveSameMap)', () => {
    const self = fileURLToPath(import.meta.url);
    const script = `
      const { threeExchanges } = await import(${JSON.stringify(self)});
      const seen = await threeExchanges(null);
      const same = new Function('a', 'b', 'return %HaveSameMap(a, b)');
      console.log(JSON.stringify(seen.slice(1).map((ex) => same(seen[0], ex))));
    `;
    const r = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', env: { ...process.env, LEGATE_SHAPE_CHILD: '1' }, timeout: 30_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), [true, true]);
  });
}
