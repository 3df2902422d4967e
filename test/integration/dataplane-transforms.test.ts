/**
 * Every request/response transform of the HTTP/1.1 data plane, through real sockets: path rewrite
 * (query kept), regex rewrite, host_rewrite vs kept Host, header add/remove both ways,
 * X-Forwarded-*, x-request-id, x-envoy-original-path, hop-by-hop stripping both ways, server
 * header, redirects, and path normalisation before routing.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import {
  cluster,
  echo,
  get,
  getJson,
  irRoute,
  snapshotOf,
  startOrigin,
  startPlane,
} from './dataplane-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('prefix rewrite replaces the prefix, keeps the query, records the original path', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf(
    [irRoute(0, { path: '/api/', rewrite: { kind: 'prefix', value: '/v2/' }, targets: [{ cluster: 'c' }] })],
    [cluster('c', [origin.port])],
  );
  const { url } = await startPlane(t, snap);
  const e = await getJson(url, '/api/users?id=7&x=%2F');
  assert.equal(e.url, '/v2/users?id=7&x=%2F');
  assert.equal(e.headers['x-envoy-original-path'], '/api/users?id=7&x=%2F');
});

test('no rewrite: path forwarded as normalised, no x-envoy-original-path', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf(
    [irRoute(0, { path: '/', targets: [{ cluster: 'c' }] })],
    [cluster('c', [origin.port])],
  );
  const { url } = await startPlane(t, snap);
  const e = await getJson(url, '/a/./b/../c/%7Ed?q');
  assert.equal(e.url, '/a/c/~d?q');
  assert.equal(e.headers['x-envoy-original-path'], undefined);
});

test('regex rewrite substitutes over the whole path', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf(
    [
      irRoute(0, {
        path: '/models/',
        rewrite: { kind: 'regex', pattern: '^/models/([^/]+)/$', substitution: '/model/\\1:predict' },
        targets: [{ cluster: 'c' }],
      }),
    ],
    [cluster('c', [origin.port])],
  );
  const { url } = await startPlane(t, snap);
  const e = await getJson(url, '/models/test/');
  assert.equal(e.url, '/model/test:predict');
});

test('host_rewrite replaces Host; without it the client Host is kept', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf(
    [
      irRoute(0, { path: '/rw/', targets: [{ cluster: 'c', hostRewrite: 'httpbin.org' }] }),
      irRoute(1, { path: '/', targets: [{ cluster: 'c' }] }),
    ],
    [cluster('c', [origin.port])],
  );
  const { url } = await startPlane(t, snap);
  const rewritten = await getJson(url, '/rw/x', { host: 'Gateway.Example:8080' });
  assert.equal(rewritten.headers.host, 'httpbin.org');
  assert.equal(rewritten.headers['x-forwarded-host'], 'Gateway.Example:8080');
  const kept = await getJson(url, '/x', { host: 'Gateway.Example:8080' });
  assert.equal(kept.headers.host, 'Gateway.Example:8080');
});

test('route adds and removes request and response headers (append vs replace)', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    res.setHeader('x-origin-secret', 'yes');
    res.setHeader('x-replace-me', 'origin');
    res.setHeader('x-keep', 'origin');
    echo('o')(req, res);
  });
  const snap = snapshotOf(
    [
      irRoute(0, {
        path: '/',
        targets: [
          {
            cluster: 'c',
            addRequestHeaders: [
              { name: 'x-appended', value: 'route', append: true },
              { name: 'x-replaced', value: 'route', append: false },
            ],
            removeRequestHeaders: ['x-drop-me'],
            addResponseHeaders: [
              { name: 'x-replace-me', value: 'route', append: false },
              { name: 'x-keep', value: 'route', append: true },
            ],
            removeResponseHeaders: ['x-origin-secret'],
          },
        ],
      }),
    ],
    [cluster('c', [origin.port])],
  );
  const { url } = await startPlane(t, snap);
  const res = await get(url, '/', { 'x-appended': 'client', 'x-replaced': 'client', 'x-drop-me': '1' });
  assert.equal(res.status, 200);
  const e = JSON.parse(res.text) as { headers: Record<string, string> };
  assert.equal(e.headers['x-appended'], 'client, route');
  assert.equal(e.headers['x-replaced'], 'route');
  assert.equal(e.headers['x-drop-me'], undefined);
  assert.equal(res.headers['x-origin-secret'], undefined);
  assert.equal(res.headers['x-replace-me'], 'route');
  assert.deepEqual(res.headers['x-keep'], ['origin', 'route']);
});

test('X-Forwarded-For/-Proto/-Host and x-request-id at the edge', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [origin.port])]);
  const { url } = await startPlane(t, snap);
  const e = await getJson(url, '/', {
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-request-id': 'client-chosen',
  });
  assert.equal(e.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(e.headers['x-forwarded-proto'], 'http');
  assert.match(e.headers['x-request-id'], UUID);
  const again = await getJson(url, '/');
  assert.equal(again.headers['x-forwarded-for'], '127.0.0.1');
  assert.notEqual(again.headers['x-request-id'], e.headers['x-request-id']);
});

test('preserve_external_request_id and trusted hops keep the client values', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [origin.port])], {
    preserveExternalRequestId: true,
    xffNumTrustedHops: 1,
  });
  const { url } = await startPlane(t, snap);
  const e = await getJson(url, '/', { 'x-forwarded-proto': 'https', 'x-request-id': 'client-chosen' });
  assert.equal(e.headers['x-forwarded-proto'], 'https');
  assert.equal(e.headers['x-request-id'], 'client-chosen');
});

test('hop-by-hop headers are stripped both ways; upstream framing is regenerated', async (t) => {
  const origin = await startOrigin(t, (req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      res.writeHead(200, {
        connection: 'keep-alive, x-hop',
        'x-hop': 'must-not-pass',
        'keep-alive': 'timeout=30',
        'content-type': 'application/json',
      });
      // No content-length: the origin answers chunked.
      res.write(JSON.stringify({ headers: req.headers, bytes }));
      res.end();
    });
  });
  const snap = snapshotOf([irRoute(0, { targets: [{ cluster: 'c' }] })], [cluster('c', [origin.port])], {
    serverName: 'legate',
  });
  const { url, plane } = await startPlane(t, snap);

  // A raw request so the client can send headers undici refuses to send.
  const raw = await new Promise<string>((resolve, reject) => {
    const sock = connect(plane.address.port, '127.0.0.1');
    let data = '';
    sock.on('data', (c) => {
      data += c.toString('latin1');
      if (data.includes('\r\n0\r\n\r\n')) {
        sock.end();
        resolve(data);
      }
    });
    sock.on('error', reject);
    sock.write(
      'POST /x HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: secret\r\n' +
        'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers, deflate\r\n' +
        'Transfer-Encoding: chunked\r\nUpgrade: h2c\r\nX-End: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
  });
  const [head, ...rest] = raw.split('\r\n\r\n');
  const lower = head.toLowerCase();
  assert.ok(!lower.includes('x-hop'), 'connection-listed response header leaked');
  assert.ok(lower.includes('server: legate'));
  assert.ok(lower.includes('transfer-encoding: chunked'));
  const bodyChunked = rest.join('\r\n\r\n');
  const json = bodyChunked.slice(bodyChunked.indexOf('{'), bodyChunked.lastIndexOf('}') + 1);
  const seen = JSON.parse(json) as { headers: Record<string, string>; bytes: number };
  assert.equal(seen.bytes, 5);
  for (const h of ['x-client-hop', 'keep-alive', 'proxy-connection', 'te', 'upgrade']) {
    assert.equal(seen.headers[h], undefined, h);
  }
  assert.equal(seen.headers['x-end'], '1');
  // The body was re-framed by the upstream connection: chunked (the client sent no length).
  const te = seen.headers['transfer-encoding'];
  const cl = seen.headers['content-length'];
  assert.ok((te === 'chunked') !== (cl === '5'), `framing te=${te} cl=${cl}`);
  assert.notEqual(seen.headers.connection, 'keep-alive, X-Client-Hop');
  assert.ok(url.startsWith('http://'));
});

test('redirect routes answer with Location and an empty body', async (t) => {
  const snap = snapshotOf(
    [
      irRoute(0, {
        path: '/old/',
        redirect: {
          code: 308,
          host: 'new.example',
          scheme: 'https',
          path: { kind: 'prefix', value: '/new/' },
        },
      }),
    ],
    [],
  );
  const { url, plane } = await startPlane(t, snap);
  const res = await get(url, '/old/page?x=1', { host: 'old.example' });
  assert.equal(res.status, 308);
  assert.equal(res.headers.location, 'https://new.example/new/page?x=1');
  assert.equal(res.text, '');
  assert.equal(plane.stats.redirects, 1);
});

test('normalisation happens before routing: dot segments cannot escape a prefix', async (t) => {
  const origin = await startOrigin(t);
  const snap = snapshotOf(
    [irRoute(0, { path: '/public/', targets: [{ cluster: 'c' }] })],
    [cluster('c', [origin.port])],
    { rejectRequestsWithEscapedSlashes: true },
  );
  const { url } = await startPlane(t, snap);
  assert.equal((await get(url, '/public/../admin')).status, 404);
  assert.equal((await get(url, '/public/%2e%2e/admin')).status, 404);
  const ok = await getJson(url, '/public/a/../b');
  assert.equal(ok.url, '/public/b');
  const bad = await get(url, '/public/a%2Fb');
  assert.equal(bad.status, 400);
  assert.equal(bad.text, 'bad request\n');
});
