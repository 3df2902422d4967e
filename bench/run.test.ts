// bench/run.mjs's pure parts: flags, medians and ratios, and the report text.
import { test } from 'node:test';
import { type BenchRun, type PassData, parseBenchArgs, report, summarisePass } from './run.mjs';

function run(
  rep: number,
  rps: number,
  p50Ms: number,
  p99Ms: number,
  cpuUsPerReq: number,
  errors = 0,
): BenchRun {
  return { rep, rps, requests: rps * 10, p50Ms, p90Ms: p50Ms, p99Ms, maxMs: p99Ms, errors, cpuUsPerReq };
}

const pass: PassData = {
  name: 'single',
  workers: 1,
  pinned: true,
  runs: {
    direct: [run(0, 100, 0.1, 0.2, 5), run(1, 110, 0.1, 0.2, 5), run(2, 90, 0.1, 0.2, 5)],
    nginx: [run(0, 40, 1, 3, 20), run(1, 60, 2, 5, 16), run(2, 50, 1.5, 4, 18)],
    legate: [run(0, 20, 4, 9, 60), run(1, 30, 3, 12, 50, 2), run(2, 25, 5, 10, 55)],
  },
  rssIdle: { nginx: 14, legate: 80 },
  rssAfter: { nginx: 15, legate: 110 },
};

test('flags: defaults, --quick, and rejection of nonsense', (t) => {
  t.plan(5);
  const d = parseBenchArgs([]);
  t.assert.deepEqual(
    [d.durationS, d.connections, d.reps, d.warmupS, d.passes],
    [10, 64, 3, 3, ['single', 'pair']],
  );
  const q = parseBenchArgs(['--quick']);
  t.assert.deepEqual([q.durationS, q.reps, q.warmupS], [3, 1, 1]);
  const explicit = parseBenchArgs(['--quick', '--duration', '7', '--passes', 'pair', '--no-pin']);
  t.assert.deepEqual([explicit.durationS, explicit.passes, explicit.pin], [7, ['pair'], false]);
  t.assert.throws(() => parseBenchArgs(['--reps', '0']), /--reps/);
  t.assert.throws(() => parseBenchArgs(['--passes', 'single,triple']), /triple/);
});

test('medians are taken per metric and ratios are Legate over nginx', (t) => {
  t.plan(6);
  const s = summarisePass(pass);
  t.assert.equal(s.medians.nginx.rps, 50);
  t.assert.equal(s.medians.legate.p99Ms, 10);
  t.assert.equal(s.medians.legate.errors, 2);
  t.assert.equal(s.ratios.rps, 25 / 50);
  t.assert.equal(s.ratios.p50, 4 / 1.5);
  t.assert.equal(s.ratios.cpuPerReq, 55 / 18);
});

test('the report shows each pass, the ratios, RSS, and failed passes as not measured', (t) => {
  t.plan(5);
  const text = report({
    date: '2026-01-01T00:00:00.000Z',
    opts: parseBenchArgs([]),
    machine: {
      cpus: 2,
      cpuModel: 'x',
      kernel: 'k',
      node: 'v20',
      nginx: 'nginx/1',
      wrk: 'wrk 4',
      loadBefore: 0.1,
    },
    passes: [
      { ...pass, summary: summarisePass(pass) },
      { ...pass, name: 'pair', error: 'Legate did not become ready' },
    ],
  });
  t.assert.match(
    text,
    /\| legate \| 25 \| 20\.\.30 \| 4\.00 \| 10\.00 \| 55\.0 \| 80\.0 \/ 110\.0 \| 2 \| 0\.50 \|/,
  );
  t.assert.match(text, /throughput \*\*0\.50×\*\*/);
  t.assert.match(text, /Legate RSS 110\.0 MiB/);
  t.assert.match(text, /### pair: not measured\n\nThe pass failed: Legate did not become ready/);
  t.assert.match(text, /one proxy process on CPU 1/);
});
