// wrk invocation and output parsing for bench/run.mjs.
//
// The preferred result is the one JSON line bench/wrk/report.lua prints (exact microseconds,
// error counts by kind). When that line is missing (an older wrk without Lua, or a run started by
// hand with `--latency`), the human-readable output is parsed instead; both give the same shape.
// Pure functions except runWrk(), which spawns wrk and is bounded by a kill timer.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPORT_LUA = join(dirname(fileURLToPath(import.meta.url)), '..', 'wrk', 'report.lua');
const LUA_MARKER = 'LEGATE_WRK ';

/**
 * The command line for one wrk run. With `cpu` set, wrk is started under `taskset -c <cpu>`.
 * @returns {{ command: string, args: string[] }}
 */
export function wrkCommand({
  url,
  connections,
  durationS,
  threads = 1,
  script = REPORT_LUA,
  cpu = null,
  wrk = 'wrk',
  taskset = 'taskset',
}) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, '--latency', '--timeout', '10s'];
  if (script) args.push('-s', script);
  args.push(url);
  if (cpu === null || cpu === undefined) return { command: wrk, args };
  return { command: taskset, args: ['-c', String(cpu), wrk, ...args] };
}

const UNIT_TO_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `224.00us`, `1.54ms`, `2.00s` → milliseconds. */
export function durationToMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`unrecognised wrk duration "${text}"`);
  return Number(m[1]) * UNIT_TO_MS[m[2]];
}

/** `3.01MB` style sizes are not needed; requests and latency are. */
function parseLua(line) {
  const r = JSON.parse(line.slice(LUA_MARKER.length));
  const l = r.latency_us;
  const durationS = r.duration_us / 1e6;
  const errors = { ...r.errors };
  return {
    source: 'lua',
    requests: r.requests,
    durationS,
    rps: durationS > 0 ? r.requests / durationS : 0,
    latencyMs: {
      mean: l.mean / 1000,
      p50: l.p50 / 1000,
      p90: l.p90 / 1000,
      p99: l.p99 / 1000,
      max: l.max / 1000,
    },
    errors,
    errorsTotal: errors.connect + errors.read + errors.write + errors.timeout + errors.status,
  };
}

function parseText(text) {
  const reqLine = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text);
  const rpsLine = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!reqLine || !rpsLine) throw new Error('wrk output has no request summary');
  const pct = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)(?:\.000)?%\s+([\d.]+(?:us|ms|s|m|h))\s*$/gm)) {
    pct[m[1]] = durationToMs(m[2]);
  }
  const stats = /Latency\s+([\d.]+(?:us|ms|s|m|h))\s+[\d.]+(?:us|ms|s|m|h)\s+([\d.]+(?:us|ms|s|m|h))/.exec(
    text,
  );
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = {
    connect: sock ? Number(sock[1]) : 0,
    read: sock ? Number(sock[2]) : 0,
    write: sock ? Number(sock[3]) : 0,
    timeout: sock ? Number(sock[4]) : 0,
    status: non2xx ? Number(non2xx[1]) : 0,
  };
  return {
    source: 'text',
    requests: Number(reqLine[1]),
    durationS: durationToMs(`${reqLine[2]}${reqLine[3]}`) / 1000,
    rps: Number(rpsLine[1]),
    latencyMs: {
      mean: stats ? durationToMs(stats[1]) : Number.NaN,
      p50: pct['50'] ?? Number.NaN,
      p90: pct['90'] ?? Number.NaN,
      p99: pct['99'] ?? Number.NaN,
      max: stats ? durationToMs(stats[2]) : Number.NaN,
    },
    errors,
    errorsTotal: errors.connect + errors.read + errors.write + errors.timeout + errors.status,
  };
}

/**
 * Parses one wrk run's stdout. Throws when neither the Lua line nor a request summary is present
 * (wrk failed to connect at all, or was killed).
 */
export function parseWrkOutput(text) {
  const line = text.split('\n').find((l) => l.startsWith(LUA_MARKER));
  return line ? parseLua(line) : parseText(text);
}

/**
 * Runs wrk once; resolves with the parsed result and the raw output. Killed (SIGKILL) if it runs
 * `graceS` seconds past its duration.
 */
export function runWrk(opts, { graceS = 30 } = {}) {
  const { command, args } = wrkCommand(opts);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.durationS + graceS) * 1000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve({ result: parseWrkOutput(out), raw: out });
      } catch (e) {
        reject(
          new Error(
            `wrk ${args.join(' ')} failed (code ${code}, signal ${signal}): ${e.message}\n${out}${err}`,
          ),
        );
      }
    });
  });
}
