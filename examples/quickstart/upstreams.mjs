#!/usr/bin/env node
// Demo upstreams for examples/quickstart: the small servers the quickstart routes point at.
//
// Owns six plain node:http servers in one process, dependency-free so a new user can read it in
// one sitting. Run directly (`node examples/quickstart/upstreams.mjs`) or imported by
// scripts/quickstart.mjs and the tests through `startUpstreams()`.
//
//   httpbin      127.0.0.1:9101  echo service in the style of httpbin.org (/anything, /get, /post,
//                                /headers, /ip, /status/:code, /delay/:s): replies with the method,
//                                path, headers, query and body it received, as JSON
//   model        127.0.0.1:9102  a toy model server: POST /model/test/:predict
//   tour-ui      127.0.0.1:9103  the `tour` Service's UI port (5000 in a cluster): one HTML page
//   tour-backend 127.0.0.1:9104  the `tour` Service's backend port (8080 in a cluster): quotes as JSON
//   hello-v1     127.0.0.1:9105  stable side of the canary pair
//   hello-v2     127.0.0.1:9106  canary side
//
// The ports are fixed because the YAML in this folder names them; change both together.
// Invariants: request bodies are read with a bound (1 MiB, else 413); every timer a request starts
// is cleared when its client goes away; close() ends keep-alive connections so it returns promptly.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORTS = Object.freeze({
  httpbin: 9101,
  model: 9102,
  tourUi: 9103,
  tourBackend: 9104,
  helloV1: 9105,
  helloV2: 9106,
});

/** Largest request body the echo and model servers read; larger bodies get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Upper bound for /delay/:s, as httpbin.org does. */
export const MAX_DELAY_SECONDS = 10;

const QUOTES = [
  'A gateway is only as good as its error messages.',
  'Route by prefix, rewrite by intent.',
  'Configuration is data; treat it with the same care as code.',
  'Every request deserves a clear answer, even when that answer is 404.',
  'Canary small, observe, then grow.',
];

function sendJson(res, status, value, extraHeaders = {}) {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

function sendText(res, status, text, contentType = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads the whole body up to MAX_BODY_BYTES; resolves null (after answering 413) when larger. */
function readBody(req, res) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        sendJson(
          res,
          413,
          { error: `request body larger than ${MAX_BODY_BYTES} bytes` },
          { connection: 'close' },
        );
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** Headers as the client sent them (original spelling); repeated headers are joined with ", ". */
function headersAsSent(req) {
  const out = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/** Query parameters; a repeated name becomes an array, as httpbin shows it. */
function queryArgs(url) {
  const args = {};
  for (const [name, value] of url.searchParams) {
    const prev = args[name];
    if (prev === undefined) args[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else args[name] = [prev, value];
  }
  return args;
}

/** The JSON an echo reply carries: everything the upstream saw. */
function echo(req, url, body) {
  const contentType = String(req.headers['content-type'] ?? '');
  const data = body ? body.toString('utf8') : '';
  let json = null;
  if (data && contentType.includes('json')) {
    try {
      json = JSON.parse(data);
    } catch {
      json = null;
    }
  }
  const form = {};
  if (data && contentType.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(data)) form[k] = v;
  }
  return {
    method: req.method,
    path: url.pathname,
    args: queryArgs(url),
    headers: headersAsSent(req),
    origin: req.socket.remoteAddress ?? '',
    url: `http://${req.headers.host ?? 'unknown'}${req.url}`,
    data,
    form,
    json,
  };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** httpbin-style echo. Unknown paths get 404 JSON naming the path, so rewrites are easy to see. */
export function httpbinHandler(req, res) {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  const path = url.pathname;
  const reply = async () => {
    const body = await readBody(req, res);
    if (body === null) return;
    if (path === '/anything' || path.startsWith('/anything/'))
      return sendJson(res, 200, echo(req, url, body));
    if (path === '/headers') return sendJson(res, 200, { headers: headersAsSent(req) });
    if (path === '/ip') return sendJson(res, 200, { origin: req.socket.remoteAddress ?? '' });
    const methodPath = {
      '/get': 'GET',
      '/post': 'POST',
      '/put': 'PUT',
      '/patch': 'PATCH',
      '/delete': 'DELETE',
    };
    if (path in methodPath) {
      if (req.method !== methodPath[path] && !(path === '/get' && req.method === 'HEAD')) {
        return sendJson(res, 405, { error: `${path} takes ${methodPath[path]}, got ${req.method}` });
      }
      const e = echo(req, url, body);
      if (!BODY_METHODS.has(req.method)) {
        e.data = undefined;
        e.form = undefined;
        e.json = undefined;
      }
      return sendJson(res, 200, e);
    }
    const status = /^\/status\/(\d{3})$/.exec(path);
    if (status) {
      const code = Number(status[1]);
      if (code < 100 || code > 599) return sendJson(res, 400, { error: `invalid status ${code}` });
      res.writeHead(code, { 'content-length': 0 });
      return res.end();
    }
    const delay = /^\/delay\/(\d+(?:\.\d+)?)$/.exec(path);
    if (delay) {
      const seconds = Math.min(Number(delay[1]), MAX_DELAY_SECONDS);
      const timer = setTimeout(
        () => sendJson(res, 200, { ...echo(req, url, body), delay: seconds }),
        seconds * 1000,
      );
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (path === '/')
      return sendJson(res, 200, { service: 'httpbin (Legate quickstart)', try: Object.keys(methodPath) });
    return sendJson(res, 404, { error: 'not found', path, method: req.method });
  };
  reply().catch((err) => {
    if (!res.headersSent) sendJson(res, 500, { error: String(err?.message ?? err) });
    else res.destroy();
  });
}

/**
 * A toy model server in the TensorFlow-Serving style: POST /model/test/:predict with
 * {"instances": [[numbers]...]} answers {"predictions": [sum of each instance]}.
 */
export function modelHandler(req, res) {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  if (url.pathname !== '/model/test/:predict') {
    return sendJson(res, 404, { error: 'unknown model endpoint', path: url.pathname, method: req.method });
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return sendJson(res, 405, { error: `predict takes POST, got ${req.method}` });
  }
  readBody(req, res)
    .then((body) => {
      if (body === null) return;
      let input;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return sendJson(res, 400, { error: 'body is not JSON' });
      }
      const instances = input?.instances;
      const valid =
        Array.isArray(instances) &&
        instances.every((row) => Array.isArray(row) && row.every((x) => typeof x === 'number'));
      if (!valid) return sendJson(res, 400, { error: 'expected {"instances": [[number, ...], ...]}' });
      const predictions = instances.map((row) => row.reduce((a, b) => a + b, 0));
      return sendJson(res, 200, { model: 'test', version: 1, predictions });
    })
    .catch((err) => sendJson(res, 500, { error: String(err?.message ?? err) }));
}

const TOUR_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Legate tour</title></head>
<body>
<h1>Legate tour</h1>
<p>This page came from the <code>tour</code> Service's UI port, routed by the <code>tour-ui</code> Mapping
(<code>prefix: /</code>). The quote below comes from <code>/backend/</code>, routed by
<code>tour-backend</code> to the backend port.</p>
<blockquote id="quote">loading...</blockquote>
<script>
fetch('/backend/').then((r) => r.json()).then((q) => {
  document.getElementById('quote').textContent = q.quote + ' (' + q.server + ')';
}).catch((e) => { document.getElementById('quote').textContent = 'backend unreachable: ' + e; });
</script>
</body>
</html>
`;

/** The tour UI: one page at `/`, 404 for anything else. */
export function tourUiHandler(req, res) {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  if (url.pathname === '/' || url.pathname === '/index.html') {
    return sendText(res, 200, TOUR_PAGE, 'text/html; charset=utf-8');
  }
  return sendText(res, 404, `tour-ui: no page ${url.pathname}\n`);
}

/** The tour backend: a quote and the path it was asked for (shows the `/backend/` prefix stripped). */
export function tourBackendHandler(req, res) {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  const i = Math.floor(Math.random() * QUOTES.length);
  return sendJson(res, 200, { server: 'tour-backend', path: url.pathname, quote: QUOTES[i] });
}

function helloHandler(version, role) {
  const text = `hello from ${version} (${role})\n`;
  return (_req, res) => sendText(res, 200, text);
}

const HANDLERS = {
  httpbin: httpbinHandler,
  model: modelHandler,
  tourUi: tourUiHandler,
  tourBackend: tourBackendHandler,
  helloV1: helloHandler('v1', 'stable'),
  helloV2: helloHandler('v2', 'canary'),
};

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts every demo server. `ports` may name 0 for an ephemeral port (tests do); the returned
 * `ports` holds the ports actually bound. If one port is taken, the others are closed again and the
 * error names the port.
 */
export async function startUpstreams({ host = DEFAULT_HOST, ports = DEFAULT_PORTS } = {}) {
  const servers = {};
  const bound = {};
  try {
    for (const name of Object.keys(HANDLERS)) {
      const server = createServer({ keepAliveTimeout: 75_000 }, HANDLERS[name]);
      servers[name] = server;
      const want = ports[name] ?? 0;
      try {
        bound[name] = await listen(server, want, host);
      } catch (err) {
        const reason =
          err?.code === 'EADDRINUSE' ? 'is already in use (is another quickstart running?)' : 'failed';
        throw new Error(`demo upstream ${name}: ${host}:${want} ${reason}: ${err?.message ?? err}`, {
          cause: err,
        });
      }
    }
  } catch (err) {
    await Promise.all(Object.values(servers).map(closeServer));
    throw err;
  }
  return {
    host,
    ports: bound,
    close: () => Promise.all(Object.values(servers).map(closeServer)).then(() => undefined),
  };
}

async function main() {
  const up = await startUpstreams();
  for (const [name, port] of Object.entries(up.ports))
    console.log(`demo upstream ${name} on http://${up.host}:${port}`);
  const stop = () => {
    up.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
