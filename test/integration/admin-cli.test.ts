/**
 * The admin server's endpoints against a running gateway, and the `validate` / `routes` commands
 * against a configuration directory with one good and one bad object.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { main } from '../../src/cli/main.js';
import { docs, mapping, startTestGateway, startUpstream } from './gateway-harness.js';

const BAD_WEIGHT = `apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: bad
  namespace: default
spec:
  hostname: "*"
  prefix: /bad/
  service: 127.0.0.1:1
  weight: 250
`;

async function get(url: string, method = 'GET') {
  const res = await request(url, { method });
  return { status: res.statusCode, text: await res.body.text(), type: String(res.headers['content-type']) };
}

test('admin endpoints: health, Emissary probes, diag JSON with errors and routes, metrics, method rules', async (t) => {
  const up = await startUpstream('up');
  const gw = await startTestGateway({
    'good.yaml': docs(mapping('good', { prefix: '/good/', service: `127.0.0.1:${up.port}` })),
    'bad.yaml': BAD_WEIGHT,
  });
  t.after(async () => {
    await gw.close();
    await up.close();
  });
  const a = gw.adminUrl;
  assert.deepEqual(await get(`${a}/ready`), {
    status: 200,
    text: 'ready\n',
    type: 'text/plain; charset=utf-8',
  });
  assert.equal((await get(`${a}/alive`)).status, 200);
  assert.equal((await get(`${a}/ambassador/v0/check_ready`)).status, 200);
  assert.equal((await get(`${a}/ambassador/v0/check_alive`)).status, 200);

  const diag = await get(`${a}/diag`);
  assert.equal(diag.status, 200);
  const d = JSON.parse(diag.text) as {
    status: { ready: boolean; config_hash: string };
    errors: { key: string; location: string; field?: string; message: string; critical: boolean }[];
    routes: { path: string; targets: { service: string }[] }[];
    resources: { key: string; state: string; location: string }[];
  };
  assert.equal(d.status.ready, true);
  assert.equal(d.status.config_hash, gw.gateway.reconciler.lastIr!.hash);
  assert.deepEqual(
    d.routes.map((r) => [r.path, r.targets[0]!.service]),
    [['/good/', `127.0.0.1:${up.port}`]],
  );
  const bad = d.resources.find((r) => r.key === 'Mapping/default/bad');
  assert.equal(bad?.state, 'Rejected');
  assert.equal(bad?.location, 'bad.yaml:1');
  const err = d.errors.find((e) => e.key === 'Mapping/default/bad');
  assert.equal(err?.field, 'spec.weight');
  assert.equal(err?.location, 'bad.yaml:10');
  assert.equal(err?.critical, true);
  // The Emissary path serves the same document.
  assert.equal(
    JSON.parse((await get(`${a}/ambassador/v0/diag/?json=true`)).text).status.config_hash,
    d.status.config_hash,
  );

  // The good route works although the bad object was rejected; an unknown path is a counted 404.
  assert.equal((await get(`${gw.url}/good/x`)).status, 200);
  assert.equal((await get(`${gw.url}/missing`)).status, 404);
  const metrics = await get(`${a}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /^legate_downstream_requests_total 2$/m);
  assert.match(
    metrics.text,
    /^legate_local_replies_total\{code="GW_ERR_NO_ROUTE",status="404",flag="NR"\} 1$/m,
  );
  assert.match(metrics.text, /^legate_config_resources\{state="Rejected"\} 1$/m);
  assert.match(metrics.text, /^legate_routes 1$/m);

  assert.equal((await get(`${a}/ready`, 'POST')).status, 405);
  assert.equal((await get(`${a}/nope`)).status, 404);
  assert.match((await get(`${a}/`)).text, /\/diag/);
});

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('legate validate prints file:line kind/namespace/name field: message and exits 1 on a rejected object', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'good.yaml'), docs(mapping('good', { prefix: '/good/', service: 'good:80' })));
  const ok = await runCli(['validate', dir]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.err, /0 rejected; 1 routes/);

  await writeFile(join(dir, 'bad.yaml'), BAD_WEIGHT);
  const failed = await runCli(['validate', dir]);
  assert.equal(failed.code, 1);
  assert.match(failed.out, /^bad\.yaml:10 Mapping\/default\/bad spec\.weight: .+/m);

  const routes = await runCli(['routes', dir, '--json']);
  assert.equal(routes.code, 0);
  const rows = JSON.parse(routes.out) as { order: number; path: string; host: string }[];
  assert.deepEqual(
    rows.map((r) => [r.order, r.host, r.path]),
    [[0, '*', '/good/']],
  );

  const usage = await runCli(['validate']);
  assert.equal(usage.code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
});

test('legate serve exits with status 1 when its listener cannot be opened', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-cli-'));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.after(async () => {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'a.yaml'), docs(mapping('a', { prefix: '/a/', service: 'a:80' })));
  const port = (taken.address() as { port: number }).port;
  const result = await runCli([
    'serve',
    '--config',
    dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    '127.0.0.1:0',
    '--workers',
    '1',
    '--log-level',
    'silent',
  ]);
  assert.equal(result.code, 1);
});
