/**
 * Reconfiguration under continuous load: 1,000 snapshot swaps while keep-alive clients send
 * requests without pause. Every request must succeed and no client connection may be closed.
 * A second test drives reloads through the file source (edits on disk), as an operator would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { buildIrFromSources } from '../../src/main.js';
import { parseConfigText } from '../../src/sources/file/parse.js';
import { docs, mapping, startTestGateway, startUpstream } from './gateway-harness.js';

const CLIENTS = 16;

interface LoadResult {
  ok: number;
  failed: string[];
  disconnects: number;
  byUpstream: Map<string, number>;
}

/** Keep-alive clients looping on one path until `stop` resolves. */
function runLoad(url: string, path: string, stop: Promise<void>): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: [], disconnects: 0, byUpstream: new Map() };
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const loops: Promise<void>[] = [];
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const client = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 });
    let connected = 0;
    client.on('connect', () => {
      connected++;
    });
    client.on('disconnect', () => {
      if (!stopped) result.disconnects++;
    });
    clients.push(client);
    loops.push(
      (async () => {
        while (!stopped) {
          try {
            const res = await client.request({ path, method: 'GET' });
            const text = await res.body.text();
            if (res.statusCode !== 200) {
              result.failed.push(`${res.statusCode} ${text.slice(0, 120)}`);
            } else {
              result.ok++;
              const name = String(res.headers['x-upstream']);
              result.byUpstream.set(name, (result.byUpstream.get(name) ?? 0) + 1);
            }
          } catch (err) {
            result.failed.push(String(err));
          }
        }
        assert.ok(connected <= 1, 'each client used a single connection');
      })(),
    );
  }
  return Promise.all(loops).then(async () => {
    await Promise.all(clients.map((c) => c.close()));
    return result;
  });
}

function irFor(yaml: string) {
  const parsed = parseConfigText(yaml, 'reload.yaml', 'file');
  return buildIrFromSources([{ source: 'file', objects: parsed.objects, problems: parsed.problems }], {
    ambassadorId: 'default',
    namespace: 'default',
  });
}

test('1,000 snapshot swaps under continuous load: no failed request, no closed connection', async (t) => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  const configA = docs(mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${a.port}` }));
  const configB = docs(
    mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${b.port}` }),
    mapping('extra', { prefix: '/extra/', service: `127.0.0.1:${a.port}`, headers: { 'x-extra': 'yes' } }),
  );
  const gw = await startTestGateway({ 'config.yaml': configA });
  t.after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });
  const irA = irFor(configA);
  const irB = irFor(configB);
  assert.notEqual(irA.hash, irB.hash);

  let release!: () => void;
  const stop = new Promise<void>((r) => (release = r));
  const load = runLoad(gw.url, '/svc/ping', stop);
  await sleep(100);
  for (let i = 0; i < 1000; i++) {
    await gw.gateway.host.apply(i % 2 === 0 ? irB : irA);
    // Let requests interleave with the swaps.
    await new Promise((r) => setImmediate(r));
    if (i % 50 === 0) await sleep(1);
  }
  await sleep(100);
  release();
  const result = await load;
  assert.deepEqual(result.failed.slice(0, 5), [], `${result.failed.length} failed requests`);
  assert.equal(result.disconnects, 0, 'client connections closed during reloads');
  assert.ok(result.ok > 500, `only ${result.ok} requests completed`);
  assert.ok(
    (result.byUpstream.get('a') ?? 0) > 0 && (result.byUpstream.get('b') ?? 0) > 0,
    'both configurations served',
  );
});

test('reloads from file edits under load: every request succeeds and follows the edit', async (t) => {
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  const gw = await startTestGateway({
    'config.yaml': docs(mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${a.port}` })),
  });
  t.after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });
  let release!: () => void;
  const stop = new Promise<void>((r) => (release = r));
  const load = runLoad(gw.url, '/svc/ping', stop);
  for (let i = 1; i <= 10; i++) {
    const port = i % 2 === 0 ? a.port : b.port;
    await gw.write('config.yaml', docs(mapping('svc', { prefix: '/svc/', service: `127.0.0.1:${port}` })));
    await gw.waitForIr(
      (ir) => ir.clusters.some((c) => c.endpoints.some((e) => e.port === port)) && ir.clusters.length === 1,
    );
  }
  release();
  const result = await load;
  assert.deepEqual(result.failed.slice(0, 5), [], `${result.failed.length} failed requests`);
  assert.equal(result.disconnects, 0);
  assert.ok((result.byUpstream.get('a') ?? 0) > 0 && (result.byUpstream.get('b') ?? 0) > 0);
});
