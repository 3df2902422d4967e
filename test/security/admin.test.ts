/**
 * The admin port: bound to loopback unless told otherwise, state-changing endpoints only by POST,
 * read-only endpoints only by GET/HEAD, and it serves no proxy routes (nor the proxy admin pages).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { request } from 'undici';
import { adminHandlers } from '../../src/admin/server.js';
import { DEFAULT_ADMIN, parseServeArgs } from '../../src/bootstrap/settings.js';
import { docs, mapping, startTestGateway, startUpstream } from '../integration/gateway-harness.js';

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

test('the admin listener defaults to 127.0.0.1, also when only a port is given', () => {
  assert.equal(DEFAULT_ADMIN.host, '127.0.0.1');
  assert.equal(parseServeArgs(['--config', '/tmp/x'], {}).admin.host, '127.0.0.1');
  assert.equal(parseServeArgs(['--config', '/tmp/x', '--admin', ':9000'], {}).admin.host, '127.0.0.1');
  assert.equal(parseServeArgs(['--config', '/tmp/x', '--admin', '9000'], {}).admin.host, '127.0.0.1');
  assert.equal(parseServeArgs(['--config', '/tmp/x'], { LEGATE_ADMIN: '9001' }).admin.host, '127.0.0.1');
});

test('a gateway started with the default admin host is reachable on loopback only', async (t) => {
  const defaults = parseServeArgs(['--config', '/unused'], {});
  const gw = await startTestGateway({}, { admin: { host: defaults.admin.host, port: 0 } });
  t.after(() => gw.close());
  const addr = gw.gateway.admin.address;
  assert.equal(addr.address, '127.0.0.1');
  assert.equal(await connects('127.0.0.1', addr.port), true);
  const ext = externalAddress();
  if (ext === null) {
    t.diagnostic('no non-loopback interface on this machine: the external reachability check is skipped');
    return;
  }
  assert.equal(await connects(ext, addr.port), false, `admin port not reachable on ${ext}`);
});

const READ_ONLY = [
  '/ready',
  '/alive',
  '/ambassador/v0/check_ready',
  '/ambassador/v0/check_alive',
  '/diag',
  '/ambassador/v0/diag/',
  '/metrics',
];

test('the admin handler table: every endpoint is classified, and the classification is enforced', async (t) => {
  const state = {
    readiness: () => ({ ready: true, reason: '' }),
    alive: () => true,
    diag: () => ({}),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
  };
  const handlers = adminHandlers(state);
  // A new endpoint must be added here deliberately, stating whether it changes state.
  assert.deepEqual(
    handlers.filter((h) => !h.mutates).map((h) => h.path),
    READ_ONLY,
  );
  const mutating = handlers.filter((h) => h.mutates).map((h) => h.path);
  assert.deepEqual(mutating, [], 'no state-changing endpoint today; the next one is checked below');

  const gw = await startTestGateway({});
  t.after(() => gw.close());
  for (const path of mutating) {
    const res = await request(`${gw.adminUrl}${path}`, { method: 'GET' });
    await res.body.text();
    assert.equal(res.statusCode, 405, `GET ${path}`);
    assert.equal(res.headers.allow, 'POST', `GET ${path}: Allow`);
  }
  for (const path of READ_ONLY) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await request(`${gw.adminUrl}${path}`, { method, body: method === 'DELETE' ? null : 'x' });
      await res.body.text();
      assert.equal(res.statusCode, 405, `${method} ${path}`);
      assert.equal(res.headers.allow, 'GET, HEAD', `${method} ${path}: Allow`);
    }
    const res = await request(`${gw.adminUrl}${path}`);
    await res.body.text();
    assert.ok(res.statusCode === 200 || res.statusCode === 503, `GET ${path} answers (${res.statusCode})`);
  }
});

test('the admin port serves no proxy route, and the proxy port serves no admin page', async (t) => {
  const up = await startUpstream('up');
  const gw = await startTestGateway({
    'routes.yaml': docs(mapping('api', { prefix: '/api/', service: `127.0.0.1:${up.port}` })),
  });
  t.after(async () => {
    await gw.close();
    await up.close();
  });
  const proxied = await request(`${gw.url}/api/x`);
  await proxied.body.text();
  assert.equal(proxied.statusCode, 200, 'the route works on the proxy port');
  const seen = up.requests;

  for (const method of ['GET', 'POST'] as const) {
    const res = await request(`${gw.adminUrl}/api/x`, { method });
    const body = await res.body.text();
    assert.equal(res.statusCode, 404, `${method} /api/x on the admin port`);
    assert.match(body, /no admin endpoint/);
  }
  assert.equal(up.requests, seen, 'nothing reached the upstream through the admin port');

  for (const path of ['/diag', '/metrics', '/ready']) {
    const res = await request(`${gw.url}${path}`);
    await res.body.text();
    assert.equal(res.statusCode, 404, `${path} on the proxy port`);
    assert.equal(res.headers['x-legate-response-flags'], 'NR');
  }
});
