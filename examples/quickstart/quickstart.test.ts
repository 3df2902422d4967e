// The quickstart configuration served by the real gateway, checked with the requests the examples
// README shows. The YAML is copied to a temporary directory with the demo upstream ports replaced
// by ephemeral ones, so the test never needs the fixed ports 9101-9106 (another quickstart may be
// running on this machine); everything else in the files is used exactly as shipped.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { parseServeArgs } from '../../src/bootstrap/settings.js';
import { runGateway } from '../../src/main.js';
import { DEFAULT_PORTS, startUpstreams } from './upstreams.mjs';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Copies the quickstart YAML, replacing each fixed demo port with the one actually bound. */
function copyConfig(ports: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), 'legate-quickstart-test-'));
  const byFixed = new Map<string, string>();
  for (const [name, fixed] of Object.entries(DEFAULT_PORTS)) byFixed.set(String(fixed), String(ports[name]));
  const pattern = new RegExp(`\\b(${[...byFixed.keys()].join('|')})\\b`, 'g');
  const here = import.meta.dirname;
  for (const file of readdirSync(here).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(join(here, file), 'utf8').replace(pattern, (m) => byFixed.get(m)!);
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

test('the quickstart answers the README requests', async (t) => {
  const up = await startUpstreams({
    ports: { httpbin: 0, model: 0, tourUi: 0, tourBackend: 0, helloV1: 0, helloV2: 0 },
  });
  t.after(() => up.close());
  const dir = copyConfig(up.ports);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const settings = parseServeArgs(
    [
      '--config',
      dir,
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
      '--workers',
      '1',
      '--drain-ms',
      '500',
    ],
    {},
  );
  const gateway = await runGateway(settings, { logger: pino({ level: 'silent' }) });
  t.after(() => gateway.close());
  const ready = await waitFor(() => gateway.readiness().ready && gateway.proxyAddress() !== null, 10_000);
  if (!ready) throw new Error(`gateway not ready: ${gateway.readiness().reason}`);
  const port = gateway.proxyAddress()!.port;

  await t.test('every object is in use, the Listener is only ignored', (t) => {
    t.plan(2);
    const statuses = gateway.reconciler.lastIr!.statuses;
    const notUsed = statuses.filter((s) => s.state !== 'Accepted').map((s) => `${s.key}=${s.state}`);
    t.assert.deepEqual(notUsed, ['Listener/default/quickstart-listener-8080=Ignored']);
    t.assert.equal(gateway.reconciler.lastIr!.routes.length, 5);
  });

  await t.test('/httpbin/ strips the prefix, rewrites Host and keeps the query', async (t) => {
    t.plan(5);
    const r = await call(port, '/httpbin/get?a=1');
    t.assert.equal(r.status, 200);
    const e = JSON.parse(r.body);
    t.assert.equal(e.path, '/get');
    t.assert.equal(e.headers.host, 'httpbin.org');
    t.assert.deepEqual(e.args, { a: '1' });
    t.assert.equal(r.headers['x-quickstart'], 'legate', 'Module default add_response_headers');
  });

  await t.test('/httpbin/anything echoes a JSON body; /status/418 passes through', async (t) => {
    t.plan(3);
    const r = await call(port, '/httpbin/anything/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    const e = JSON.parse(r.body);
    t.assert.equal(e.path, '/anything/x');
    t.assert.deepEqual(e.json, { a: 1 });
    t.assert.equal((await call(port, '/httpbin/status/418')).status, 418);
  });

  await t.test(
    'POST /models/test/ is rewritten to the predict call; GET falls through to the UI',
    async (t) => {
      t.plan(3);
      const r = await call(port, '/models/test/', {
        method: 'POST',
        body: '{"instances": [[1, 2], [3, 4]]}',
      });
      t.assert.equal(r.status, 200);
      t.assert.deepEqual(JSON.parse(r.body).predictions, [3, 7]);
      const get = await call(port, '/models/test/');
      t.assert.equal(get.body, 'tour-ui: no page /models/test/\n');
    },
  );

  await t.test('the tour Service annotation routes / and /backend/ through its EndpointSlice', async (t) => {
    t.plan(3);
    const ui = await call(port, '/');
    t.assert.match(ui.body, /<h1>Legate tour<\/h1>/);
    const backend = JSON.parse((await call(port, '/backend/')).body);
    t.assert.equal(backend.server, 'tour-backend');
    t.assert.equal(backend.path, '/');
  });

  await t.test('/hello/ splits about 90/10 between stable and canary', async (t) => {
    t.plan(2);
    let canary = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if ((await call(port, '/hello/')).body.includes('canary')) canary++;
    // 10% of 400 = 40; the bounds are about 4.5 standard deviations wide (p of a false failure < 1e-5).
    t.assert.equal(canary > 13, true, `only ${canary} of ${n} went to the canary`);
    t.assert.equal(canary < 67, true, `${canary} of ${n} went to the canary`);
  });
});
