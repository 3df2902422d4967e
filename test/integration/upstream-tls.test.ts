/**
 * TLS to upstreams (`service: https://…`): the pool originates TLS with ALPN `http/1.1`, sends the
 * cluster's host as SNI when it is a name (never for an IP), does not verify the upstream's
 * certificate (Emissary's default without a TLSContext), and keeps the TLS connection alive across
 * requests. The upstream is a real node:https server with a self-signed certificate for
 * `localhost` and 127.0.0.1 (test/integration/tls/, test-only key).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { cluster, get, irRoute, snapshotOf, startPlane } from './dataplane-harness.js';

const TLS_DIR = new URL('./tls/', import.meta.url);

interface Seen {
  servername: string | false | null | undefined;
  alpn: string | false | null;
  sockets: Set<TLSSocket>;
  requests: number;
  /** Per request: whether its connection resumed an earlier TLS session. */
  reused: boolean[];
}

/** `closeEach`: every answer closes its connection, so each request needs a new handshake. */
async function startTlsOrigin(
  t: import('node:test').TestContext,
  opts: { readonly closeEach?: boolean } = {},
): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { servername: undefined, alpn: null, sockets: new Set(), requests: 0, reused: [] };
  const server = createServer(
    {
      key: readFileSync(new URL('localhost.key', TLS_DIR)),
      cert: readFileSync(new URL('localhost.crt', TLS_DIR)),
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.requests++;
      seen.servername = socket.servername;
      seen.alpn = socket.alpnProtocol;
      seen.sockets.add(socket);
      seen.reused.push(socket.isSessionReused());
      res.writeHead(200, {
        'content-type': 'text/plain',
        ...(opts.closeEach ? { connection: 'close' } : {}),
      });
      res.end(`tls ${req.headers.host} ${req.url}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

test('https upstream by name: SNI is the cluster host, ALPN http/1.1, one kept-alive TLS connection', async (t) => {
  const { port, seen } = await startTlsOrigin(t);
  const routes = [irRoute(0, { targets: [{ cluster: 'tls' }] })];
  const clusters = [cluster('tls', [port], { scheme: 'https', authority: `localhost:${port}` })];
  const { url } = await startPlane(t, snapshotOf(routes, clusters));
  for (let i = 0; i < 3; i++) {
    const res = await get(url, `/x${i}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, new RegExp(`^tls \\S+ /x${i}$`));
  }
  assert.equal(seen.requests, 3);
  assert.equal(seen.servername, 'localhost');
  assert.equal(seen.alpn, 'http/1.1');
  assert.equal(seen.sockets.size, 1, 'the TLS connection is reused');
});

test('https upstream by IP: no SNI is sent (an IP is not a server name), the request still succeeds', async (t) => {
  const { port, seen } = await startTlsOrigin(t);
  const routes = [irRoute(0, { targets: [{ cluster: 'tls' }] })];
  const clusters = [cluster('tls', [port], { scheme: 'https', authority: `127.0.0.1:${port}` })];
  const { url } = await startPlane(t, snapshotOf(routes, clusters));
  const res = await get(url, '/ip');
  assert.equal(res.status, 200, res.text);
  assert.equal(seen.servername, false);
});

test('https cluster pointed at a plain-HTTP port: the TLS handshake fails, 503 UF, and the gateway keeps serving', async (t) => {
  const { createServer: createHttpServer } = await import('node:http');
  const plain = createHttpServer((_req, res) => res.end('plain'));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    plain.closeAllConnections();
    plain.close();
  });
  const plainPort = (plain.address() as AddressInfo).port;
  const { port } = await startTlsOrigin(t);
  const routes = [
    irRoute(0, { path: '/bad/', targets: [{ cluster: 'bad' }] }),
    irRoute(1, { path: '/good/', targets: [{ cluster: 'good' }] }),
  ];
  const clusters = [
    cluster('bad', [plainPort], { scheme: 'https', authority: `localhost:${plainPort}` }),
    cluster('good', [port], { scheme: 'https', authority: `localhost:${port}` }),
  ];
  const { url } = await startPlane(t, snapshotOf(routes, clusters));
  const bad = await get(url, '/bad/');
  assert.equal(bad.status, 503, bad.text);
  assert.equal(bad.headers['x-legate-response-flags'], 'UF');
  const good = await get(url, '/good/');
  assert.equal(good.status, 200, good.text);
});

test('https upstream: a new connection resumes the previous TLS session', async (t) => {
  const { port, seen } = await startTlsOrigin(t, { closeEach: true });
  const routes = [irRoute(0, { targets: [{ cluster: 'tls' }] })];
  const clusters = [cluster('tls', [port], { scheme: 'https', authority: `localhost:${port}` })];
  const { url } = await startPlane(t, snapshotOf(routes, clusters));
  for (let i = 0; i < 3; i++) {
    const res = await get(url, '/');
    assert.equal(res.status, 200, res.text);
  }
  assert.deepEqual(seen.reused, [false, true, true]);
});
