// The generated nginx configurations, started for real (when nginx is installed) under the
// ProcessGroup the benchmark uses: origin and proxy answer "hello\n", the /proc readers see the
// master and its workers, and stopping leaves no process behind.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, waitForHttp } from './net.mjs';
import { nginxArgs, originConfig, proxyConfig } from './nginx.mjs';
import { ProcessGroup, processTree, treeCpuSeconds, treeRssMiB } from './procs.mjs';
import { findTools } from './tools.mjs';

test('configs keep every written path inside the run directory', (t) => {
  t.plan(4);
  const origin = originConfig({ dir: '/run/x', port: 1234 });
  const proxy = proxyConfig({ dir: '/run/x', port: 1235, upstreamPort: 1234, workers: 2 });
  const paths = [...`${origin}\n${proxy}`.matchAll(/(?:pid|error_log|_temp_path)\s+(\S+);/g)].map(
    (m) => m[1]!,
  );
  t.assert.equal(paths.length >= 12, true, `found only ${paths.length} paths`);
  t.assert.equal(
    paths.every((p) => p.startsWith('/run/x/')),
    true,
    paths.join(' '),
  );
  t.assert.match(proxy, /worker_processes 2;/);
  t.assert.match(proxy, /server 127\.0\.0\.1:1234;\s+keepalive 512;/);
});

const nginx = findTools(['nginx']).found.nginx;

test('origin and proxy run, answer, and stop cleanly', {
  skip: nginx ? false : 'nginx is not installed',
}, async (t) => {
  t.plan(8);
  const dir = mkdtempSync(join(tmpdir(), 'legate-nginx-test-'));
  const group = new ProcessGroup();
  t.after(async () => {
    await group.stopAll({ graceMs: 2000 });
    rmSync(dir, { recursive: true, force: true });
  });
  const originPort = await freePort();
  const proxyPort = await freePort();
  writeFileSync(join(dir, 'origin.conf'), originConfig({ dir, port: originPort }));
  writeFileSync(
    join(dir, 'proxy.conf'),
    proxyConfig({ dir, port: proxyPort, upstreamPort: originPort, workers: 2 }),
  );
  group.start('origin', nginx!, nginxArgs({ dir, confPath: join(dir, 'origin.conf'), name: 'origin' }));
  group.start('proxy', nginx!, nginxArgs({ dir, confPath: join(dir, 'proxy.conf'), name: 'proxy' }));

  t.assert.equal(await waitForHttp(`http://127.0.0.1:${proxyPort}/any/path`, { timeoutMs: 10_000 }), true);
  const res = await fetch(`http://127.0.0.1:${proxyPort}/x`);
  t.assert.equal(await res.text(), 'hello\n');

  const masterPid = group.pid('proxy')!;
  const tree = processTree(masterPid);
  t.assert.equal(tree.length, 3, `master + 2 workers expected, got ${tree.join(',')}`);
  t.assert.equal(treeRssMiB(masterPid) > 1, true);
  t.assert.equal(treeCpuSeconds(masterPid) >= 0, true);

  await group.stop('proxy', { graceMs: 2000 });
  t.assert.equal(group.alive('proxy'), false);
  t.assert.equal(
    tree.every((pid) => !existsSync(`/proc/${pid}`)),
    true,
    'a proxy process outlived stop()',
  );
  t.assert.equal(await waitForHttp(`http://127.0.0.1:${proxyPort}/`, { timeoutMs: 300 }), false);
});
