// wrk command lines and output parsing, on output captured from the real wrk (fixtures/), plus
// one short live run when wrk is installed.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { findTools } from './tools.mjs';
import { durationToMs, parseWrkOutput, REPORT_LUA, runWrk, wrkCommand } from './wrk.mjs';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

test('wrk durations in every unit become milliseconds', (t) => {
  t.plan(5);
  t.assert.equal(durationToMs('224.00us'), 0.224);
  t.assert.equal(durationToMs('1.54ms'), 1.54);
  t.assert.equal(durationToMs('2.00s'), 2000);
  t.assert.equal(durationToMs('1.00m'), 60_000);
  t.assert.throws(() => durationToMs('12 parsecs'), /unrecognised/);
});

test('the Lua report line wins over the text and gives exact microseconds', (t) => {
  t.plan(8);
  const r = parseWrkOutput(fixture('wrk-lua.txt'));
  t.assert.equal(r.source, 'lua');
  t.assert.equal(r.requests, 24639);
  t.assert.equal(r.durationS, 1.003281);
  t.assert.equal(Math.abs(r.rps - 24639 / 1.003281) < 1e-6, true);
  t.assert.equal(r.latencyMs.p50, 0.224);
  t.assert.equal(r.latencyMs.p99, 12.346);
  t.assert.equal(r.latencyMs.max, 28.501);
  t.assert.equal(r.errorsTotal, 0);
});

test('without the Lua line the --latency text is parsed, non-2xx counted as errors', (t) => {
  t.plan(7);
  const r = parseWrkOutput(fixture('wrk-text-non2xx.txt'));
  t.assert.equal(r.source, 'text');
  t.assert.equal(r.requests, 30073);
  t.assert.equal(r.rps, 30061.64);
  t.assert.equal(r.latencyMs.p50, 0.109);
  t.assert.equal(r.latencyMs.p99, 4.38);
  t.assert.equal(r.errors.status, 30073);
  t.assert.equal(r.errorsTotal, 30073);
});

test('socket errors are counted by kind', (t) => {
  t.plan(3);
  const r = parseWrkOutput(fixture('wrk-text-socket-errors.txt'));
  t.assert.equal(r.requests, 0);
  t.assert.equal(r.errors.read, 3657);
  t.assert.equal(r.errorsTotal, 3657);
});

test('output without a summary is an error, not zeros', (t) => {
  t.plan(1);
  t.assert.throws(
    () => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'),
    /no request summary/,
  );
});

test('wrk is pinned through taskset only when a CPU is given', (t) => {
  t.plan(4);
  const plain = wrkCommand({ url: 'http://127.0.0.1:1/', connections: 64, durationS: 10 });
  t.assert.equal(plain.command, 'wrk');
  t.assert.deepEqual(plain.args, [
    '-t1',
    '-c64',
    '-d10s',
    '--latency',
    '--timeout',
    '10s',
    '-s',
    REPORT_LUA,
    'http://127.0.0.1:1/',
  ]);
  const pinned = wrkCommand({
    url: 'http://x/',
    connections: 1,
    durationS: 1,
    cpu: 0,
    taskset: '/usr/bin/taskset',
  });
  t.assert.equal(pinned.command, '/usr/bin/taskset');
  t.assert.deepEqual(pinned.args.slice(0, 3), ['-c', '0', 'wrk']);
});

const hasWrk = findTools(['wrk']).missing.length === 0;

test('a live wrk run through report.lua parses', {
  skip: hasWrk ? false : 'wrk is not installed',
}, async (t) => {
  t.plan(4);
  let served = 0;
  const server = createServer((_req, res) => {
    served += 1;
    res.end('hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const { result } = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: 2, durationS: 1 });
  t.assert.equal(result.source, 'lua');
  t.assert.equal(result.requests > 0, true);
  // wrk counts completed requests; the server may have answered a few more that were cut off.
  t.assert.equal(served >= result.requests, true, `served ${served} < wrk's ${result.requests}`);
  t.assert.equal(result.errorsTotal, 0);
});
