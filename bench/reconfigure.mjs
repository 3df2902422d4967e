#!/usr/bin/env node
// Reconfiguration cost at scale: 1,000 and 10,000 Mappings (bench/lib/mappings.mjs).
//
// (a) library: in a fresh Node process per size (so RSS figures are not polluted by the other
//     size), the stages `legate serve` runs on every change, through the built modules in dist/,
//     as the gateway runs them (see libChild). Each stage is timed on the first (cold) pass and as
//     the median and best of the following warm passes; the heap is read after a forced GC after
//     every pass (growth = retention). `legate validate` on the same file is timed end to end (a
//     whole process: start-up, read, parse, build).
// (b) end to end: for each size and each --workers value, a running gateway (`legate serve`,
//     NODE_ENV=production by default, as the container image runs it) holding the Mappings; the
//     file is rewritten (write to a temp name + rename, as editors and ConfigMap volumes do) with
//     one new route, and the time until that route answers 200 is measured from just before the
//     write. This includes the file source's change detection and debounce and the control loop's
//     holdoff, i.e. what an operator waits for. Target: under 1 s for 10,000 Mappings.
//
// Flags: --sizes 1000,10000  --reps N (5)  --workers 1,2  --node-env production  --skip-e2e
//        --skip-lib  --out FILE
// Everything binds 127.0.0.1; the gateway is stopped by PID; temp files are removed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedRouteCount, generateMappings } from './lib/mappings.mjs';
import { freePort, waitForHttp } from './lib/net.mjs';
import { ProcessGroup, treeRssMiB } from './lib/procs.mjs';
import { fmt, markdownTable, median } from './lib/stats.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const LEGATE_BIN = join(ROOT, 'bin', 'legate.js');
const SELF = fileURLToPath(import.meta.url);
/** Interval at which the end-to-end probe asks for the new route. */
const PROBE_INTERVAL_MS = 2;

// ---------------------------------------------------------------------------------------------
// (a) library stages, run inside a child process: `node --expose-gc reconfigure.mjs --lib-child N`

/**
 * The stages a running gateway pays on each change, as it runs them: the file source's lazy parse
 * (no per-field lines; the snapshot carries the text), the reconciler's input hash, the resources
 * stage, the IR build, field lines for objects with problems, the compile without freezing (as
 * `legate serve` runs with NODE_ENV=production) and, separately, with deep freezing (development
 * and tests), and the structured clone of the IR that every worker receives with `--workers` > 1
 * (serialised once per worker in the control process, deserialised in each worker). After every pass the previous pass's results are dropped and the
 * heap is measured after a forced GC, so growth over the passes is retention, not garbage.
 */
async function libChild(count, reps) {
  const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
  const { parseConfigText } = await imp('sources/file/parse.js');
  const { hashInput } = await imp('control/reconciler.js');
  const { buildResourceSet } = await imp('resources/build.js');
  const { buildIr } = await imp('ir/build.js');
  const { attachFieldLines, snapshotTexts } = await imp('sources/file/field-lines.js');
  const { compileSnapshot } = await imp('snapshot/compile.js');
  const { serialize, deserialize } = await import('node:v8');
  const text = generateMappings({ count, service: '127.0.0.1:9' });
  globalThis.gc?.();
  const base = process.memoryUsage();
  const passes = [];
  const heapAfter = [];
  let held = null;
  for (let i = 0; i < reps + 1; i++) {
    held = null;
    globalThis.gc?.();
    const t0 = performance.now();
    const parsed = parseConfigText(text, 'mappings.yaml', 'file', { fieldLines: 'lazy' });
    const sets = [
      {
        source: 'file',
        objects: parsed.objects,
        problems: parsed.problems,
        texts: { 'mappings.yaml': text },
      },
    ];
    const t1 = performance.now();
    hashInput(sets);
    const t2 = performance.now();
    const resources = buildResourceSet(sets, { ambassadorId: 'default' });
    const t3 = performance.now();
    const ir = buildIr(resources, { ambassadorId: 'default', namespace: 'default' });
    const statuses = attachFieldLines(ir.statuses, snapshotTexts(sets));
    const t4 = performance.now();
    const applied = statuses === ir.statuses ? ir : { ...ir, statuses };
    const snapshot = compileSnapshot(applied, i + 1, { freeze: false });
    const t5 = performance.now();
    const wire = serialize(applied);
    const t6 = performance.now();
    deserialize(wire);
    const t7 = performance.now();
    // The development/test mode: the same compile with deep freezing (of a fresh IR copy).
    const copy = deserialize(wire);
    const t8 = performance.now();
    compileSnapshot(copy, i + 1, { freeze: true });
    const t9 = performance.now();
    held = { snapshot, sets };
    passes.push({
      parseMs: t1 - t0,
      hashMs: t2 - t1,
      resourcesMs: t3 - t2,
      irMs: t4 - t3,
      compileMs: t5 - t4,
      totalMs: t5 - t0,
      compileFrozenMs: t9 - t8,
      serializeMs: t6 - t5,
      deserializeMs: t7 - t6,
      wireMiB: wire.length / 2 ** 20,
    });
    if (i === 0) {
      const rejected = ir.statuses.filter((s) => s.state === 'Rejected').length;
      if (rejected > 0 || ir.routes.length !== expectedRouteCount(count)) {
        throw new Error(`generated set mis-built: ${ir.routes.length} routes, ${rejected} rejected`);
      }
    }
    globalThis.gc?.();
    heapAfter.push(process.memoryUsage().heapUsed / 2 ** 20);
  }
  globalThis.gc?.();
  const after = process.memoryUsage();
  const warm = passes.slice(1);
  const med = (k) => median(warm.map((p) => p[k]));
  const min = (k) => Math.min(...warm.map((p) => p[k]));
  const keys = Object.keys(passes[0]);
  const result = {
    count,
    routes: held.snapshot.routes.length,
    yamlBytes: Buffer.byteLength(text),
    cold: passes[0],
    warm: Object.fromEntries(keys.map((k) => [k, med(k)])),
    best: Object.fromEntries(keys.map((k) => [k, min(k)])),
    rssMiB: after.rss / 2 ** 20,
    rssDeltaMiB: (after.rss - base.rss) / 2 ** 20,
    heapDeltaMiB: (after.heapUsed - base.heapUsed) / 2 ** 20,
    heapAfterPassMiB: heapAfter,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runLibChild(count, reps) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', SELF, '--lib-child', String(count), '--reps', String(reps)],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`library run for ${count} failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      },
    );
  });
}

function timeValidate(dir) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    execFile(
      process.execPath,
      [LEGATE_BIN, 'validate', dir],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 64 << 20 },
      (err) => {
        resolve({ ms: performance.now() - t0, exitCode: err ? (err.code ?? 1) : 0 });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// (b) end to end against a running gateway

function startOrigin() {
  const server = createServer((_req, res) => res.end('hello\n'));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** GET on a keep-alive agent; resolves the status code (0 on a connection error). */
function probe(agent, port, path) {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * The gateway's own account of its last reload: the `configuration applied` log line (pino JSON)
 * carries the build time (resources + IR; the YAML was parsed earlier, in the file source) and the
 * time to compile and swap it in.
 */
function lastApplied(logFile) {
  const lines = readFileSync(logFile, 'utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].includes('"configuration applied"')) continue;
    try {
      return JSON.parse(lines[i]);
    } catch {
      return null;
    }
  }
  return null;
}

/** Atomically replaces `file` with `text` (temp name in the same directory, then rename). */
function replaceFile(file, text) {
  const tmp = join(dirname(file), `.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function endToEnd({ count, reps, workers, nodeEnv, tmp, group, log }) {
  const origin = await startOrigin();
  const service = `127.0.0.1:${origin.address().port}`;
  const configDir = join(tmp, 'e2e-config');
  mkdirSync(configDir, { recursive: true });
  const file = join(configDir, 'mappings.yaml');
  writeFileSync(file, generateMappings({ count, service, extraPrefixes: ['/probe-0/'] }));
  const ports = { listen: await freePort(), admin: await freePort() };
  const logFile = join(tmp, 'legate-e2e.log');
  const t0 = performance.now();
  group.start(
    'legate-e2e',
    process.execPath,
    [
      LEGATE_BIN,
      'serve',
      '--config',
      configDir,
      '--listen',
      `127.0.0.1:${ports.listen}`,
      '--admin',
      `127.0.0.1:${ports.admin}`,
      '--workers',
      String(workers),
      '--log-level',
      'info',
    ],
    { logFile, cwd: ROOT, env: { ...process.env, NODE_ENV: nodeEnv } },
  );
  const alive = () => group.alive('legate-e2e');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const up = await waitForHttp(`http://127.0.0.1:${ports.listen}/probe-0/`, {
      timeoutMs: 60_000,
      intervalMs: 10,
      isAlive: alive,
    });
    if (!up) throw new Error(`the gateway did not serve ${count} Mappings; see ${logFile}`);
    const startupMs = performance.now() - t0;
    const rssLoaded = treeRssMiB(group.pid('legate-e2e'));
    log(`  e2e: ${count} Mappings served ${fmt(startupMs)} ms after start; RSS ${fmt(rssLoaded, 1)} MiB`);
    const runs = [];
    const loadBefore = loadavg()[0];
    for (let k = 1; k <= reps; k++) {
      const path = `/probe-${k}/`;
      if ((await probe(agent, ports.listen, path)) !== 404)
        throw new Error(`${path} answered before it was configured`);
      const text = generateMappings({ count, service, extraPrefixes: [path] });
      const start = performance.now();
      replaceFile(file, text);
      let status = 0;
      const deadline = start + 30_000;
      while (performance.now() < deadline) {
        status = await probe(agent, ports.listen, path);
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
      }
      const ms = performance.now() - start;
      if (status !== 200) throw new Error(`${path} did not answer within 30 s (last status ${status})`);
      const applied = lastApplied(logFile);
      runs.push({ ms, buildMs: applied?.buildMs ?? Number.NaN, applyMs: applied?.applyMs ?? Number.NaN });
      log(
        `  e2e: rewrite ${k}/${reps}: new route answered after ${fmt(ms)} ms (gateway build ${fmt(applied?.buildMs)} ms, apply ${fmt(applied?.applyMs)} ms)`,
      );
      // Let the old snapshot's garbage settle so runs do not overlap.
      await new Promise((r) => setTimeout(r, 1500));
    }
    const rssAfter = treeRssMiB(group.pid('legate-e2e'));
    return {
      count,
      workers,
      nodeEnv,
      loadAverage: [loadBefore, loadavg()[0]],
      startupMs,
      reloadMs: runs.map((r) => r.ms),
      reloadMedianMs: median(runs.map((r) => r.ms)),
      reloadBestMs: Math.min(...runs.map((r) => r.ms)),
      buildMedianMs: median(runs.map((r) => r.buildMs)),
      applyMedianMs: median(runs.map((r) => r.applyMs)),
      rssLoadedMiB: rssLoaded,
      rssAfterMiB: rssAfter,
    };
  } finally {
    agent.destroy();
    await group.stop('legate-e2e');
    origin.closeAllConnections();
    await new Promise((r) => origin.close(r));
  }
}

// ---------------------------------------------------------------------------------------------

function parseOpts(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1000,10000' },
      reps: { type: 'string', default: '5' },
      workers: { type: 'string', default: '1,2' },
      'node-env': { type: 'string', default: 'production' },
      'skip-e2e': { type: 'boolean', default: false },
      'skip-lib': { type: 'boolean', default: false },
      'lib-child': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const sizes = values.sizes.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--sizes: comma-separated positive integers');
  const reps = Number(values.reps);
  const workers = values.workers.split(',').map(Number);
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: a positive integer');
  if (workers.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--workers: comma-separated positive integers');
  return {
    sizes,
    reps,
    workers,
    nodeEnv: values['node-env'],
    e2e: !values['skip-e2e'],
    lib: !values['skip-lib'],
    libChild: values['lib-child'] ? Number(values['lib-child']) : null,
    out: values.out ?? null,
  };
}

function report(result) {
  const la = result.loadAverage.map((x) => x.toFixed(1)).join(' ');
  const lines = [
    `## Reconfiguration at scale (${result.date}, node ${result.node}, load average ${la} at start)`,
    '',
  ];
  if (result.lib.length) {
    lines.push(
      '### Library stages (dist/), ms per build: median of the warm builds (best in brackets)',
      '',
      markdownTable(
        [
          'Mappings',
          'parse (lazy)',
          'input hash',
          'resources',
          'IR',
          'compile',
          'total',
          'compile, frozen',
          'IR to a worker (serialise + deserialise, MiB)',
          'cold total',
          'heap after GC, pass 1 → last (MiB)',
          '`legate validate`',
        ],
        result.lib.map((r) => {
          const cell = (k, d = 0) => `${fmt(r.warm[k], d)} (${fmt(r.best[k], d)})`;
          return [
            fmt(r.count),
            cell('parseMs'),
            cell('hashMs', 1),
            cell('resourcesMs'),
            cell('irMs'),
            cell('compileMs'),
            cell('totalMs'),
            cell('compileFrozenMs'),
            `${fmt(r.warm.serializeMs)} + ${fmt(r.warm.deserializeMs)} (${fmt(r.warm.wireMiB, 1)})`,
            fmt(r.cold.totalMs),
            `${fmt(r.heapAfterPassMiB[0], 1)} → ${fmt(r.heapAfterPassMiB.at(-1), 1)}`,
            fmt(r.validateMs),
          ];
        }),
      ),
      '',
    );
  }
  if (result.e2e?.length) {
    lines.push(
      '### End to end: rewrite the file, time until the new route answers (ms)',
      '',
      markdownTable(
        [
          'Mappings',
          'workers',
          'best',
          'median',
          'runs',
          'gateway build / apply (median)',
          'first load',
          'RSS MiB loaded / after',
          'load avg',
        ],
        result.e2e.map((e) => [
          fmt(e.count),
          fmt(e.workers),
          fmt(e.reloadBestMs),
          fmt(e.reloadMedianMs),
          e.reloadMs.map((x) => fmt(x)).join(', '),
          `${fmt(e.buildMedianMs)} / ${fmt(e.applyMedianMs)}`,
          fmt(e.startupMs),
          `${fmt(e.rssLoadedMiB, 1)} / ${fmt(e.rssAfterMiB, 1)}`,
          e.loadAverage.map((x) => x.toFixed(1)).join(' → '),
        ]),
      ),
      '',
      `NODE_ENV=${result.opts.nodeEnv}. Target: under 1,000 ms for 10,000 Mappings. Each run includes the file source's change detection and debounce, the YAML parse and the control loop's holdoff besides build and apply.`,
      '',
    );
  }
  return lines.join('\n');
}

async function main() {
  const opts = parseOpts(process.argv.slice(2));
  if (opts.libChild !== null) return libChild(opts.libChild, opts.reps);
  if (!existsSync(join(DIST, 'cli', 'main.js'))) {
    console.error('reconfigure: dist/ is missing; run `npm run build` first.');
    process.exitCode = 1;
    return;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'legate-reconfigure-'));
  const group = new ProcessGroup();
  process.on('exit', () => group.killAllNow());
  const onSignal = () => {
    group.stopAll({ graceMs: 2000 }).finally(() => {
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (l) => console.error(l);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: loadavg(),
    opts,
    lib: [],
    e2e: null,
  };
  try {
    if (opts.lib) {
      for (const count of opts.sizes) {
        log(`reconfigure: library stages, ${count} Mappings`);
        const r = await runLibChild(count, opts.reps);
        const dir = join(tmp, `validate-${count}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'mappings.yaml'), generateMappings({ count, service: '127.0.0.1:9' }));
        const v = await timeValidate(dir);
        if (v.exitCode !== 0) throw new Error(`legate validate exited ${v.exitCode} on the generated set`);
        result.lib.push({ ...r, validateMs: v.ms });
      }
    }
    if (opts.e2e) {
      result.e2e = [];
      for (const count of opts.sizes) {
        for (const workers of opts.workers) {
          log(`reconfigure: end to end, ${count} Mappings, --workers ${workers}, NODE_ENV=${opts.nodeEnv}`);
          result.e2e.push(
            await endToEnd({ count, reps: opts.reps, workers, nodeEnv: opts.nodeEnv, tmp, group, log }),
          );
        }
      }
    }
  } finally {
    await group.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
  const out =
    opts.out ?? join(ROOT, 'bench', 'results', `reconfigure-${result.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(report(result));
  console.log(`Raw data: ${out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`reconfigure: ${e?.message ?? e}`);
    process.exitCode = 1;
  });
}
