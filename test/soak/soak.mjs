#!/usr/bin/env node
// `npm run soak`: minutes of hostile-but-normal life for one gateway, then a PASS/FAIL verdict.
//
// Starts, all on 127.0.0.1:
//   - the gateway as a child process (`bin/legate.js serve`, the built dist/; no tsx), --workers N;
//   - three upstreams as child processes (upstream.mjs): `a` and `b` are stable, `flaky` is
//     SIGKILLed every few seconds (mid-response for whatever it is serving) and started again on
//     the same port after a pause;
//   - continuous load from this process (one undici Pool, --concurrency loops): GETs, POSTs with
//     bodies echoed back, streamed replies, and clients that abort after a random delay, also in the
//     middle of an upload;
//   - a configuration reload every 100 ms: `churn.yaml` is rewritten (atomically: written under a
//     dot name, which the file source skips, then renamed) alternating a header value, a canary
//     weight, and a route that is added and removed. `stable.yaml` is never touched.
// Every second it samples RSS and open fds of the gateway process and its workers (/proc).
//
// Request kinds and what counts as a failure:
//   stable (must never fail): GET /stable/, /stable-b/, POST /stable/echo, GET /stable/stream,
//     GET /canary/ (a weighted group rewritten every other reload), GET /hdr/ (its added header
//     changes every reload). Any status other than 200, a wrong body, or a transport error fails.
//   expected failures, counted by kind: /flaky/ while its upstream is down or dies mid-reply
//     (502/503/504 with the response flag, or the reply cut); /temp/ answering 404 while that
//     route is removed; requests this process aborts on purpose.
// Verdict (exit 1 on FAIL): zero unexpected failures, the gateway alive and /ready 200 throughout,
// and RSS and fds flat — see `flatness()` for the exact rules.
//
// Options: --duration S (300)  --workers N (1)  --concurrency N (48)  --json
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { freePort, waitForHttp } from '../../bench/lib/net.mjs';
import { processTree } from '../../bench/lib/procs.mjs';
import { CHUNK_BYTES, STREAM_CHUNKS } from './shape.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const LEGATE_BIN = join(ROOT, 'bin', 'legate.js');
const UPSTREAM = join(HERE, 'upstream.mjs');

const RELOAD_EVERY_MS = 100;
/** The flaky upstream is killed this often, and stays down for a random 300–1000 ms. */
const KILL_EVERY_MS = 3000;
/** Samples taken before this are warm-up (JIT, pools filling) and not judged. */
const warmupS = (durationS) => Math.min(30, Math.max(5, Math.round(durationS * 0.15)));
/** Flatness limits; see `flatness()`. */
const FD_SLACK_PER_PROCESS = 10;
const RSS_SLACK_MIB_PER_PROCESS = 16;

function parseSoakArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '300' },
      workers: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '48' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const int = (v, name, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: "${v}" must be an integer >= ${min}`);
    return n;
  };
  return {
    help: values.help,
    durationS: int(values.duration, 'duration', 10),
    workers: int(values.workers, 'workers', 1),
    concurrency: int(values.concurrency, 'concurrency', 1),
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes (each remembered by PID and stopped by PID; nothing is found by name).

const children = new Set();

function startUpstream(name, port, logFd) {
  const child = spawn(process.execPath, [UPSTREAM, name, String(port)], { stdio: ['ignore', 'pipe', logFd] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`upstream ${name} exited (${code ?? signal}) before listening`)),
    );
  });
}

function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  return exited.finally(() => clearTimeout(timer));
}

/** /proc readings for one process: RSS in KiB and the number of open fds; null once it is gone. */
function procSample(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { rssKiB: m ? Number(m[1]) : 0, fds };
  } catch {
    return null;
  }
}

/** Socket inodes in TCP state CLOSE_WAIT (the peer closed, this side never did: the shape of a leak). */
function closeWaitInodes() {
  const out = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i].trim().split(/\s+/);
      // st is field 3; 08 = CLOSE_WAIT. inode is field 9.
      if (f[3] === '08') out.add(f[9]);
    }
  }
  return out;
}

/** How many of `pid`'s fds are sockets in `inodes`. */
function socketsIn(pid, inodes) {
  if (inodes.size === 0) return 0;
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) n++;
      } catch {
        // closed while we looked
      }
    }
  } catch {
    // exited
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Configuration.

const mappingDoc = (name, spec) =>
  JSON.stringify({
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Mapping',
    metadata: { name, namespace: 'default' },
    spec: { hostname: '*', ...spec },
  });

function stableConfig(ports) {
  return `${[
    mappingDoc('stable-a', { prefix: '/stable/', service: `127.0.0.1:${ports.a}` }),
    mappingDoc('stable-b', { prefix: '/stable-b/', service: `127.0.0.1:${ports.b}` }),
    mappingDoc('flaky', { prefix: '/flaky/', service: `127.0.0.1:${ports.flaky}`, timeout_ms: 5000 }),
  ].join('\n---\n')}\n`;
}

/** Reload `round`: the header changes every time, the canary weight every other time, /temp/ comes and goes. */
function churnConfig(ports, round) {
  const docs = [
    mappingDoc('hdr', {
      prefix: '/hdr/',
      service: `127.0.0.1:${ports.a}`,
      add_request_headers: { 'x-soak-round': { value: String(round) } },
    }),
    mappingDoc('canary-main', { prefix: '/canary/', service: `127.0.0.1:${ports.a}` }),
    mappingDoc('canary-new', {
      prefix: '/canary/',
      service: `127.0.0.1:${ports.b}`,
      weight: (Math.floor(round / 2) * 7) % 101,
    }),
  ];
  if (round % 4 < 2) docs.push(mappingDoc('temp', { prefix: '/temp/', service: `127.0.0.1:${ports.b}` }));
  return `${docs.join('\n---\n')}\n`;
}

function writeAtomically(dir, name, text) {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

// ---------------------------------------------------------------------------------------------
// Load.

class Tally {
  constructor() {
    this.total = 0;
    this.ok = 0;
    /** kind → count of failures that the soak causes on purpose. */
    this.expected = new Map();
    /** kind → count of failures that must not happen. */
    this.unexpected = new Map();
    /** The first few unexpected failures, with detail. */
    this.examples = [];
  }

  expect(kind) {
    this.expected.set(kind, (this.expected.get(kind) ?? 0) + 1);
  }

  fail(kind, detail) {
    this.unexpected.set(kind, (this.unexpected.get(kind) ?? 0) + 1);
    if (this.examples.length < 20) this.examples.push({ at: new Date().toISOString(), kind, detail });
  }
}

const sha = (buf) => createHash('sha1').update(buf).digest('hex');

/** A request body that arrives slowly, so that an abort lands in the middle of the upload. */
function slowBody(chunks, gapMs) {
  let i = 0;
  return new Readable({
    read() {
      if (i++ >= chunks) return this.push(null);
      setTimeout(() => this.push(randomBytes(2048)), gapMs);
    },
  });
}

const flagOf = (res) => String(res.headers['x-legate-response-flags'] ?? '-');

/** One request of a randomly chosen kind; records its outcome in `tally`. */
async function oneRequest(pool, tally) {
  const r = Math.random();
  tally.total++;
  if (r < 0.3) return stableGet(pool, tally, '/stable/x', 'a');
  if (r < 0.4) return stableGet(pool, tally, '/stable-b/x', 'b');
  if (r < 0.5) return stableEcho(pool, tally);
  if (r < 0.56) return stableStream(pool, tally);
  if (r < 0.66) return stableGet(pool, tally, '/canary/x', null);
  if (r < 0.72) return stableGet(pool, tally, '/hdr/x', 'a', true);
  if (r < 0.78) return tempGet(pool, tally);
  if (r < 0.9) return flakyGet(pool, tally);
  return abortMidway(pool, tally);
}

async function stableGet(pool, tally, path, upstream, wantRound = false) {
  const kind = `GET ${path.slice(0, path.indexOf('/', 1) + 1)}`;
  try {
    const res = await pool.request({ path, method: 'GET' });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      return tally.fail(kind, `${res.statusCode} ${flagOf(res)} ${text.slice(0, 120)}`);
    const body = JSON.parse(text);
    if (upstream !== null && body.name !== upstream) return tally.fail(kind, `answered by ${body.name}`);
    if (upstream === null && body.name !== 'a' && body.name !== 'b')
      return tally.fail(kind, `answered by ${body.name}`);
    if (wantRound && typeof body.round !== 'string') return tally.fail(kind, 'added header missing upstream');
    tally.ok++;
  } catch (err) {
    tally.fail(kind, `${err.code ?? err.name}: ${err.message}`);
  }
}

async function stableEcho(pool, tally) {
  const body = randomBytes(1024 + Math.floor(Math.random() * 64 * 1024));
  try {
    const res = await pool.request({
      path: '/stable/echo',
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const got = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) return tally.fail('POST /stable/echo', `${res.statusCode} ${flagOf(res)}`);
    if (got.length !== body.length || sha(got) !== sha(body)) {
      return tally.fail('POST /stable/echo', `echo differs: sent ${body.length} bytes, got ${got.length}`);
    }
    tally.ok++;
  } catch (err) {
    tally.fail('POST /stable/echo', `${err.code ?? err.name}: ${err.message}`);
  }
}

async function stableStream(pool, tally) {
  try {
    const res = await pool.request({ path: '/stable/stream', method: 'GET' });
    let n = 0;
    for await (const c of res.body) n += c.length;
    if (res.statusCode !== 200) return tally.fail('GET /stable/stream', `${res.statusCode} ${flagOf(res)}`);
    if (n !== STREAM_CHUNKS * CHUNK_BYTES) return tally.fail('GET /stable/stream', `streamed ${n} bytes`);
    tally.ok++;
  } catch (err) {
    tally.fail('GET /stable/stream', `${err.code ?? err.name}: ${err.message}`);
  }
}

async function tempGet(pool, tally) {
  try {
    const res = await pool.request({ path: '/temp/x', method: 'GET' });
    await res.body.dump();
    if (res.statusCode === 200) tally.ok++;
    else if (res.statusCode === 404) tally.expect('temp route removed (404)');
    else tally.fail('GET /temp/', `${res.statusCode} ${flagOf(res)}`);
  } catch (err) {
    tally.fail('GET /temp/', `${err.code ?? err.name}: ${err.message}`);
  }
}

async function flakyGet(pool, tally) {
  const path = Math.random() < 0.5 ? '/flaky/x' : '/flaky/stream';
  try {
    const res = await pool.request({ path, method: 'GET' });
    let n = 0;
    try {
      for await (const c of res.body) n += c.length;
    } catch {
      return tally.expect('flaky: reply cut mid-body');
    }
    if (res.statusCode === 200) {
      if (path.endsWith('/stream') && n !== STREAM_CHUNKS * CHUNK_BYTES)
        return tally.expect('flaky: reply cut mid-body');
      return tally.ok++;
    }
    if (res.statusCode === 502 || res.statusCode === 503 || res.statusCode === 504) {
      return tally.expect(`flaky: ${res.statusCode} ${flagOf(res)}`);
    }
    tally.fail('GET /flaky/', `${res.statusCode} ${flagOf(res)}`);
  } catch (err) {
    // The gateway may close the client connection when the upstream dies mid-reply.
    tally.expect(`flaky: ${err.code ?? err.name}`);
  }
}

/** Aborted on purpose after 0–50 ms: a slow upload, or a streamed download. */
async function abortMidway(pool, tally) {
  const upload = Math.random() < 0.5;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), Math.random() * 50);
  try {
    const res = await pool.request(
      upload
        ? { path: '/stable/echo', method: 'POST', body: slowBody(40, 2), signal: ac.signal }
        : { path: '/stable/stream', method: 'GET', signal: ac.signal },
    );
    for await (const _ of res.body) {
      // drain until done or aborted
    }
    // Finished before the abort fired: an ordinary success, but it must be a good one.
    if (res.statusCode !== 200)
      return tally.fail(upload ? 'abort upload' : 'abort download', `${res.statusCode}`);
    tally.ok++;
  } catch (err) {
    if (ac.signal.aborted) tally.expect(upload ? 'client aborted mid-upload' : 'client aborted mid-download');
    else tally.fail(upload ? 'abort upload' : 'abort download', `${err.code ?? err.name}: ${err.message}`);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Verdict.

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i];
    sy += ys[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

/**
 * "Flat", over the samples taken under load (process tree = gateway + workers, summed):
 * - fds: the median of the last quarter of the loaded samples is at most FD_SLACK_PER_PROCESS per
 *   process above the higher of the first two quarters' medians, as for RSS below: client and
 *   upstream connections come and go (the upstream pools keep a burst's connections idle for up to
 *   a minute), so a 10-second window swings by ±20 fds, while a leak only grows and lifts the
 *   level; and no gateway socket is left in CLOSE_WAIT once the load has stopped;
 * - RSS: the median of the last quarter of the loaded samples is at most
 *   RSS_SLACK_MIB_PER_PROCESS per process above the higher of the first two quarters' medians.
 *   Under load RSS is a sawtooth (the heap grows to V8's next collection point, a major GC hands
 *   memory back) with a period of a minute or more, and V8 keeps raising its heap limit during the
 *   first minutes, so neither a line fitted to part of the run (it follows whichever tooth it
 *   starts on) nor the peaks (they climb while the heap settles) separate a leak from the
 *   sawtooth; a leak lifts the whole level, which the median of each quarter shows. At these
 *   request rates a leak of a few bytes per request lifts it by tens of MiB over a 10-minute run.
 *   The peaks and the least-squares slope over the second half are printed for information.
 */
function flatness(samples, { warmupS: warm, processes }) {
  const loaded = samples.filter((s) => s.t >= warm);
  const half = samples.filter((s) => s.t >= samples[samples.length - 1].t / 2);
  const rssSlope = slope(
    half.map((s) => s.t / 60),
    half.map((s) => s.rssKiB / 1024),
  );
  const fdSlope = slope(
    half.map((s) => s.t / 60),
    half.map((s) => s.fds),
  );
  const fdLimit = FD_SLACK_PER_PROCESS * processes;
  const quarter = Math.max(1, Math.floor(loaded.length / 4));
  const mib = (xs) => xs.map((s) => s.rssKiB / 1024);
  const quarters = [0, 1, 2, 3].map((q) =>
    loaded.slice(q * quarter, q === 3 ? loaded.length : (q + 1) * quarter),
  );
  const fdsOf = (xs) => xs.map((s) => s.fds);
  const warmFds = Math.max(median(fdsOf(quarters[0])), median(fdsOf(quarters[1])));
  const endFds = median(fdsOf(quarters[3]));
  const rssEarlyLevel = Math.max(median(mib(quarters[0])), median(mib(quarters[1])));
  const rssEndLevel = median(mib(quarters[3]));
  const rssEarlyPeak = Math.max(...mib(quarters[0]));
  const rssLatePeak = Math.max(...mib(quarters[3]));
  const rssLimit = RSS_SLACK_MIB_PER_PROCESS * processes;
  return {
    warmFds,
    endFds,
    fdGrowth: endFds - warmFds,
    fdLimit,
    fdSlopePerMin: fdSlope,
    rssSlopeMiBPerMin: rssSlope,
    rssEarlyLevel,
    rssEndLevel,
    rssGrowth: rssEndLevel - rssEarlyLevel,
    rssLimit,
    rssEarlyPeak,
    rssLatePeak,
    fdsFlat: endFds - warmFds <= fdLimit,
    rssFlat: rssEndLevel - rssEarlyLevel <= rssLimit,
  };
}

// ---------------------------------------------------------------------------------------------
// Run.

async function metricValue(adminUrl, name) {
  try {
    const res = await request(`${adminUrl}/metrics`);
    const text = await res.body.text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function main() {
  const opts = parseSoakArgs(process.argv.slice(2));
  if (opts.help) {
    console.log('node test/soak/soak.mjs [--duration S] [--workers N] [--concurrency N] [--json]');
    return 0;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build`');
  const log = (msg) => {
    if (!opts.json) console.log(msg);
  };
  const dir = mkdtempSync(join(tmpdir(), 'legate-soak-'));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  const upstreamLog = openSync(join(dir, 'upstreams.log'), 'a');
  const gatewayLog = openSync(join(dir, 'gateway.log'), 'a');

  let gateway = null;
  let pool = null;
  /** Logs and samples stay on disk for a FAIL (or a crash), and go on a PASS. */
  let keepLogs = true;
  const timers = [];
  const cleanup = async () => {
    for (const t of timers) clearInterval(t);
    await pool?.destroy().catch(() => {});
    await Promise.all([...children].map((c) => stopChild(c)));
    if (!keepLogs) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const ua = await startUpstream('a', 0, upstreamLog);
    const ub = await startUpstream('b', 0, upstreamLog);
    let flaky = await startUpstream('flaky', 0, upstreamLog);
    const ports = { a: ua.port, b: ub.port, flaky: flaky.port };
    writeFileSync(join(configDir, 'stable.yaml'), stableConfig(ports));
    let round = 0;
    writeAtomically(configDir, 'churn.yaml', churnConfig(ports, round));

    const listenPort = await freePort();
    const adminPort = await freePort();
    gateway = spawn(
      process.execPath,
      [
        LEGATE_BIN,
        'serve',
        '--config',
        configDir,
        '--listen',
        `127.0.0.1:${listenPort}`,
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--workers',
        String(opts.workers),
        '--log-level',
        'warn',
        // Short enough that a write every 100 ms is applied on its own, not folded into the next.
        '--holdoff-ms',
        '20',
        '--max-delay-ms',
        '100',
      ],
      { stdio: ['ignore', gatewayLog, gatewayLog], cwd: ROOT },
    );
    children.add(gateway);
    let gatewayExit = null;
    gateway.once('exit', (code, signal) => {
      gatewayExit = { code, signal };
      children.delete(gateway);
    });
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const proxyUrl = `http://127.0.0.1:${listenPort}`;
    const up = await waitForHttp(`${adminUrl}/ready`, {
      isAlive: () => gatewayExit === null,
      timeoutMs: 30_000,
    });
    if (!up) throw new Error(`the gateway did not become ready (logs: ${dir}/gateway.log)`);
    log(
      `soak: ${opts.durationS} s, ${opts.workers} worker(s), ${opts.concurrency} concurrent; logs in ${dir}`,
    );

    const tally = new Tally();
    const samples = [];
    const t0 = performance.now();
    const elapsedS = () => (performance.now() - t0) / 1000;
    let readyFailures = 0;
    let reloads = 0;
    let upstreamRestarts = 0;
    let stopping = false;

    // Sampler: RSS and fds of the gateway tree, /ready, every second.
    const sample = async () => {
      const pids = processTree(gateway.pid);
      let rssKiB = 0;
      let fds = 0;
      let closeWait = 0;
      const waiting = closeWaitInodes();
      for (const pid of pids) {
        const s = procSample(pid);
        if (s) {
          rssKiB += s.rssKiB;
          fds += s.fds;
          closeWait += socketsIn(pid, waiting);
        }
      }
      samples.push({ t: elapsedS(), pids: pids.length, rssKiB, fds, closeWait });
      try {
        const res = await request(`${adminUrl}/ready`, { headersTimeout: 5000, bodyTimeout: 5000 });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          readyFailures++;
          if (tally.examples.length < 20)
            tally.examples.push({
              at: new Date().toISOString(),
              kind: '/ready',
              detail: `${res.statusCode} ${text.trim()}`,
            });
        }
      } catch (err) {
        readyFailures++;
        if (tally.examples.length < 20)
          tally.examples.push({ at: new Date().toISOString(), kind: '/ready', detail: String(err) });
      }
    };
    await sample();
    timers.push(setInterval(() => void sample(), 1000));

    // Reloads every 100 ms.
    timers.push(
      setInterval(() => {
        round++;
        writeAtomically(configDir, 'churn.yaml', churnConfig(ports, round));
        reloads++;
      }, RELOAD_EVERY_MS),
    );

    // The flaky upstream: SIGKILL, a pause, the same port again.
    const killer = (async () => {
      while (!stopping) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        if (stopping) break;
        await stopChild(flaky.child, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        for (let attempt = 0; ; attempt++) {
          try {
            flaky = await startUpstream('flaky', ports.flaky, upstreamLog);
            break;
          } catch (err) {
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        upstreamRestarts++;
      }
    })();

    pool = new Pool(proxyUrl, { connections: opts.concurrency, pipelining: 1 });
    const deadline = t0 + opts.durationS * 1000;
    const loops = [];
    for (let i = 0; i < opts.concurrency; i++) {
      loops.push(
        (async () => {
          while (performance.now() < deadline && gatewayExit === null) await oneRequest(pool, tally);
        })(),
      );
    }
    const progress = setInterval(() => {
      const s = samples[samples.length - 1];
      log(
        `  ${elapsedS().toFixed(0).padStart(4)} s  ${tally.total} requests, ${sum(tally.unexpected)} unexpected, ` +
          `${sum(tally.expected)} expected failures, ${reloads} reloads, ${upstreamRestarts} restarts, ` +
          `rss ${(s.rssKiB / 1024).toFixed(1)} MiB, fds ${s.fds}`,
      );
    }, 15_000);
    timers.push(progress);
    await Promise.all(loops);
    const loadS = elapsedS();
    stopping = true;
    await killer;
    for (const t of timers) clearInterval(t);
    timers.length = 0;
    // Quiet: the clients hang up; what the gateway still holds after a few seconds is what it keeps.
    await pool.destroy();
    pool = null;
    await new Promise((r) => setTimeout(r, 3000));
    const loaded = samples.slice();
    await sample();
    const quiet = samples[samples.length - 1];
    writeFileSync(join(dir, 'samples.json'), JSON.stringify(samples));

    const applied = await metricValue(adminUrl, 'legate_config_applied_total');
    const configFailures = await metricValue(adminUrl, 'legate_config_failures_total');
    const processes = Math.max(...loaded.map((s) => s.pids));
    const flat = flatness(loaded, { warmupS: warmupS(opts.durationS), processes });
    const rss = loaded.map((s) => s.rssKiB / 1024);
    const fds = loaded.map((s) => s.fds);
    const summary = {
      durationS: Math.round(loadS),
      workers: opts.workers,
      concurrency: opts.concurrency,
      requests: tally.total,
      requestsPerSecond: Math.round(tally.total / loadS),
      succeeded: tally.ok,
      stableFailures: sum(tally.unexpected),
      unexpectedByKind: Object.fromEntries(tally.unexpected),
      unexpectedExamples: tally.examples,
      expectedFailuresByKind: Object.fromEntries([...tally.expected].sort((x, y) => y[1] - x[1])),
      reloadsWritten: reloads,
      reloadsApplied: applied,
      configFailures,
      upstreamRestarts,
      readyFailures,
      gatewayExit,
      processes,
      rssMiB: { start: round1(rss[0]), peak: round1(Math.max(...rss)), end: round1(rss[rss.length - 1]) },
      fds: { start: fds[0], peak: Math.max(...fds), end: fds[fds.length - 1], quiet: quiet.fds },
      closeWait: { peak: Math.max(...loaded.map((s) => s.closeWait)), quiet: quiet.closeWait },
      flatness: {
        ...flat,
        rssSlopeMiBPerMin: round2(flat.rssSlopeMiBPerMin),
        rssEarlyLevel: round1(flat.rssEarlyLevel),
        rssEndLevel: round1(flat.rssEndLevel),
        rssGrowth: round1(flat.rssGrowth),
        rssEarlyPeak: round1(flat.rssEarlyPeak),
        rssLatePeak: round1(flat.rssLatePeak),
        fdSlopePerMin: round2(flat.fdSlopePerMin),
      },
      logs: dir,
    };
    const reasons = [];
    if (summary.stableFailures > 0) reasons.push(`${summary.stableFailures} unexpected failures`);
    if (gatewayExit) reasons.push(`the gateway exited (${gatewayExit.code ?? gatewayExit.signal})`);
    if (readyFailures > 0) reasons.push(`/ready failed ${readyFailures} times`);
    if (configFailures) reasons.push(`${configFailures} configuration builds failed`);
    if (tally.ok === 0) reasons.push('no request succeeded');
    if (quiet.closeWait > 0) reasons.push(`${quiet.closeWait} sockets left in CLOSE_WAIT`);
    if (!flat.fdsFlat) reasons.push(`fds grew by ${flat.fdGrowth} (limit ${flat.fdLimit})`);
    if (!flat.rssFlat) {
      reasons.push(
        `RSS level grew ${round1(flat.rssGrowth)} MiB from the first half to the last quarter (limit ${flat.rssLimit})`,
      );
    }
    summary.verdict = reasons.length === 0 ? 'PASS' : 'FAIL';
    summary.reasons = reasons;
    if (reasons.length === 0) {
      summary.logs = null;
      keepLogs = false;
    }
    if (opts.json) console.log(JSON.stringify(summary, null, 2));
    else printSummary(summary);
    return reasons.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
const round1 = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;

function printSummary(s) {
  const lines = [
    '',
    `requests          ${s.requests} in ${s.durationS} s = ${s.requestsPerSecond} req/s (${s.workers} worker(s), ${s.concurrency} concurrent)`,
    `stable failures   ${s.stableFailures}${s.stableFailures ? ` ${JSON.stringify(s.unexpectedByKind)}` : ''}`,
    'expected failures',
    ...Object.entries(s.expectedFailuresByKind).map(([k, v]) => `  ${String(v).padStart(8)}  ${k}`),
    `reloads           ${s.reloadsWritten} written, ${s.reloadsApplied ?? '?'} applied, ${s.configFailures ?? '?'} failed`,
    `upstream restarts ${s.upstreamRestarts}`,
    `/ready failures   ${s.readyFailures}`,
    `RSS MiB           start ${s.rssMiB.start}  peak ${s.rssMiB.peak}  end ${s.rssMiB.end}  (${s.processes} process(es))`,
    `  median, first half → last quarter ${s.flatness.rssEarlyLevel} → ${s.flatness.rssEndLevel} (growth ${s.flatness.rssGrowth}, limit ${s.flatness.rssLimit})`,
    `  for information: peak 1st → last quarter ${s.flatness.rssEarlyPeak} → ${s.flatness.rssLatePeak}; slope over the 2nd half ${s.flatness.rssSlopeMiBPerMin} MiB/min`,
    `fds               start ${s.fds.start}  peak ${s.fds.peak}  end ${s.fds.end}`,
    `  median, first half → last quarter ${s.flatness.warmFds} → ${s.flatness.endFds} (growth ${s.flatness.fdGrowth}, limit ${s.flatness.fdLimit}; slope ${s.flatness.fdSlopePerMin}/min)`,
    `  quiet (3 s after the load) ${s.fds.quiet}; CLOSE_WAIT sockets peak ${s.closeWait.peak}, quiet ${s.closeWait.quiet}`,
    ...(s.logs ? [`logs and samples  ${s.logs}`] : []),
  ];
  for (const e of s.unexpectedExamples) lines.push(`  ! ${e.at} ${e.kind}: ${e.detail}`);
  lines.push(`${s.verdict}${s.reasons.length ? `: ${s.reasons.join('; ')}` : ''}`);
  console.log(lines.join('\n'));
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  },
);
