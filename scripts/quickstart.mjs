#!/usr/bin/env node
// `npm start`: the quickstart. Starts the demo upstreams (examples/quickstart/upstreams.mjs, in
// this process) and `legate serve --config examples/quickstart` (a child), waits until the gateway
// is ready, prints the URLs to try, and stops both on Ctrl-C or SIGTERM.
//
// Environment overrides (the same variables `legate serve` reads):
//   LEGATE_LISTEN   proxy address, default 0.0.0.0:8080
//   LEGATE_ADMIN    admin address, default 127.0.0.1:8877
//   LEGATE_WORKERS  worker processes, default one per core
// The demo upstream ports (127.0.0.1:9101-9106) are fixed: the YAML in examples/quickstart names them.
//
// Signals: the gateway runs in its own process group, so a terminal's Ctrl-C reaches only this
// script, which forwards it exactly once (the gateway drains and exits). A second Ctrl-C kills the
// gateway at once. If the gateway exits by itself, the upstreams are closed and its exit code is
// passed on.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startUpstreams } from '../examples/quickstart/upstreams.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'legate.js');
const CONFIG_DIR = join(ROOT, 'examples', 'quickstart');
const READY_TIMEOUT_MS = 30_000;
/** After a forwarded signal, the gateway gets this long to drain before it is killed. */
const STOP_TIMEOUT_MS = 15_000;

/** `HOST:PORT`, `:PORT` or `PORT`, the forms `legate serve` accepts. */
export function splitHostPort(value, fallbackHost) {
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (bracket) return { host: bracket[1], port: Number(bracket[2]) };
  const cut = value.lastIndexOf(':');
  if (cut < 0) return { host: fallbackHost, port: Number(value) };
  return { host: value.slice(0, cut) || fallbackHost, port: Number(value.slice(cut + 1)) };
}

/** The host a user should type into curl for a listen address. */
export function browsableHost(host) {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** The lines printed once the gateway is ready. */
export function tryLines(proxyBase, adminBase) {
  return [
    '',
    'Legate quickstart is ready. Try:',
    `  curl -i ${proxyBase}/httpbin/get                 # echo service; Host rewritten to httpbin.org`,
    `  curl ${proxyBase}/httpbin/anything/x?q=1 -d '{"a":1}' -H 'content-type: application/json'`,
    `  curl -i ${proxyBase}/httpbin/status/418`,
    `  curl -i ${proxyBase}/httpbin/delay/6              # slower than the 5 s timeout: 504`,
    `  curl -X POST ${proxyBase}/models/test/ -d '{"instances": [[1, 2], [3, 4]]}'`,
    `  curl ${proxyBase}/backend/                        # tour backend (Service annotation Mapping)`,
    `  curl ${proxyBase}/                                # tour UI page (open it in a browser)`,
    `  for i in $(seq 50); do curl -s ${proxyBase}/hello/; done | sort | uniq -c   # 90/10 canary`,
    '',
    `  Admin: ${adminBase}/ready  ${adminBase}/diag`,
    '  Examples and expected output: examples/README.md',
    '  Ctrl-C stops everything.',
    '',
  ];
}

async function waitReady(adminBase, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      return { ready: false, reason: 'the gateway exited' };
    try {
      const res = await fetch(`${adminBase}/ready`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      if (res.status === 200) return { ready: true, reason: '' };
      last = `${res.status} ${text.trim()}`;
    } catch (err) {
      last = err?.cause?.code ?? err?.message ?? String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ready: false, reason: `not ready after ${READY_TIMEOUT_MS / 1000} s (${last})` };
}

/** Resolves null when host:port can be bound right now, else the error code (EADDRINUSE, EACCES...). */
function probeBind(host, port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err) => resolve(err.code ?? String(err)));
    s.listen(port, host, () => s.close(() => resolve(null)));
  });
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.error('quickstart: dist/ is missing; run `npm run build` first (`npm start` does it for you).');
    return 1;
  }
  const listen = process.env.LEGATE_LISTEN || '0.0.0.0:8080';
  const admin = process.env.LEGATE_ADMIN || '127.0.0.1:8877';
  const l = splitHostPort(listen, '0.0.0.0');
  const a = splitHostPort(admin, '127.0.0.1');
  const proxyBase = `http://${browsableHost(l.host)}:${l.port}`;
  const adminBase = `http://${browsableHost(a.host)}:${a.port}`;

  // The gateway reports a taken port only in its log; say it plainly before starting anything.
  for (const [what, addr, variable] of [
    ['proxy', l, 'LEGATE_LISTEN'],
    ['admin', a, 'LEGATE_ADMIN'],
  ]) {
    const problem = await probeBind(addr.host, addr.port);
    if (problem) {
      const reason = problem === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${problem})`;
      console.error(
        `quickstart: ${what} address ${addr.host}:${addr.port} ${reason}; choose another with ${variable}=HOST:PORT`,
      );
      return 1;
    }
  }

  let upstreams;
  try {
    upstreams = await startUpstreams();
  } catch (err) {
    console.error(`quickstart: ${err.message}`);
    return 1;
  }
  console.log(
    `quickstart: demo upstreams on ${Object.entries(upstreams.ports)
      .map(([name, port]) => `${name}=${upstreams.host}:${port}`)
      .join(' ')}`,
  );

  const args = [BIN, 'serve', '--config', CONFIG_DIR, '--listen', listen, '--admin', admin];
  if (process.env.LEGATE_WORKERS) args.push('--workers', process.env.LEGATE_WORKERS);
  const child = spawn(process.execPath, args, { stdio: 'inherit', detached: true, cwd: ROOT });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.once('error', (err) => {
      console.error(`quickstart: could not start the gateway: ${err.message}`);
      resolve(1);
    });
  });
  // A last resort if this script exits some other way: never leave the gateway holding the ports.
  const killChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killChild);

  let signalled = 0;
  let stopTimer = null;
  const onSignal = (signal) => {
    signalled += 1;
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (signalled === 1) {
      console.log(`\nquickstart: ${signal}: stopping the gateway (Ctrl-C again to kill it)`);
      child.kill(signal);
      stopTimer = setTimeout(() => {
        console.error(`quickstart: the gateway did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
        killChild();
      }, STOP_TIMEOUT_MS);
    } else {
      killChild();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ready = await Promise.race([waitReady(adminBase, child), exited.then(() => null)]);
  if (ready?.ready) {
    for (const line of tryLines(proxyBase, adminBase)) console.log(line);
  } else if (ready && signalled === 0) {
    console.error(
      `quickstart: the gateway is not ready: ${ready.reason}; see its log above and ${adminBase}/diag`,
    );
  }

  const code = await exited;
  if (stopTimer) clearTimeout(stopTimer);
  await upstreams.close();
  return signalled > 0 && code === 0 ? 0 : code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err?.stack ?? err);
      process.exitCode = 1;
    },
  );
}
