// Tests for the quickstart's demo upstreams: each server on an ephemeral port, asked over real
// HTTP the questions the README's curl commands ask (through the gateway those arrive already
// rewritten, so here they are sent in their upstream form).
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { MAX_BODY_BYTES, startUpstreams } from './upstreams.mjs';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const ZERO = { httpbin: 0, model: 0, tourUi: 0, tourBackend: 0, helloV1: 0, helloV2: 0 };

test('demo upstreams answer as the quickstart README says', async (t) => {
  const up = await startUpstreams({ ports: ZERO });
  t.after(() => up.close());
  const p = up.ports;

  await t.test('httpbin /anything echoes method, path, query, headers and JSON body', async (t) => {
    t.plan(7);
    const r = await call(p.httpbin, '/anything/deep/path?x=1&x=2&y=z', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', Host: 'httpbin.org', 'X-Demo': 'yes' },
      body: JSON.stringify({ hello: 'world' }),
    });
    t.assert.equal(r.status, 200);
    const e = JSON.parse(r.body);
    t.assert.equal(e.method, 'PUT');
    t.assert.equal(e.path, '/anything/deep/path');
    t.assert.deepEqual(e.args, { x: ['1', '2'], y: 'z' });
    t.assert.equal(e.headers.Host, 'httpbin.org');
    t.assert.equal(e.headers['X-Demo'], 'yes');
    t.assert.deepEqual(e.json, { hello: 'world' });
  });

  await t.test('httpbin /get rejects other methods and omits body fields', async (t) => {
    t.plan(4);
    const ok = await call(p.httpbin, '/get?q=1');
    t.assert.equal(ok.status, 200);
    const e = JSON.parse(ok.body);
    t.assert.equal('data' in e, false);
    t.assert.deepEqual(e.args, { q: '1' });
    const bad = await call(p.httpbin, '/get', { method: 'POST', body: 'x' });
    t.assert.equal(bad.status, 405);
  });

  await t.test('httpbin /headers, /status/:code and unknown paths', async (t) => {
    t.plan(4);
    const h = await call(p.httpbin, '/headers', { headers: { 'X-Trace': 'abc' } });
    t.assert.equal(JSON.parse(h.body).headers['X-Trace'], 'abc');
    const s = await call(p.httpbin, '/status/418');
    t.assert.equal(s.status, 418);
    const missing = await call(p.httpbin, '/nope');
    t.assert.equal(missing.status, 404);
    t.assert.equal(JSON.parse(missing.body).path, '/nope');
  });

  await t.test('httpbin /delay/:s waits before answering', async (t) => {
    t.plan(2);
    const start = performance.now();
    const r = await call(p.httpbin, '/delay/0.1');
    t.assert.equal(JSON.parse(r.body).delay, 0.1);
    t.assert.equal(performance.now() - start >= 95, true, 'answered before the delay elapsed');
  });

  await t.test('httpbin refuses bodies over the bound with 413', async (t) => {
    t.plan(1);
    const r = await call(p.httpbin, '/post', { method: 'POST', body: Buffer.alloc(MAX_BODY_BYTES + 1, 97) });
    t.assert.equal(r.status, 413);
  });

  await t.test('model server predicts on POST /model/test/:predict only', async (t) => {
    t.plan(5);
    const ok = await call(p.model, '/model/test/:predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        instances: [
          [1, 2, 3],
          [10, -4],
        ],
      }),
    });
    t.assert.equal(ok.status, 200);
    t.assert.deepEqual(JSON.parse(ok.body).predictions, [6, 6]);
    const get = await call(p.model, '/model/test/:predict');
    t.assert.equal(get.status, 405);
    const bad = await call(p.model, '/model/test/:predict', { method: 'POST', body: '{"instances": "x"}' });
    t.assert.equal(bad.status, 400);
    const other = await call(p.model, '/model/test/', { method: 'POST', body: '{}' });
    t.assert.equal(other.status, 404);
  });

  await t.test(
    'tour UI serves its page at / and 404 elsewhere; backend returns a quote with its path',
    async (t) => {
      t.plan(5);
      const page = await call(p.tourUi, '/');
      t.assert.equal(page.status, 200);
      t.assert.match(String(page.headers['content-type']), /text\/html/);
      t.assert.equal((await call(p.tourUi, '/models/test/')).status, 404);
      const q = JSON.parse((await call(p.tourBackend, '/quote')).body);
      t.assert.equal(q.path, '/quote');
      t.assert.equal(typeof q.quote, 'string');
    },
  );

  await t.test('hello pair names its version', async (t) => {
    t.plan(2);
    t.assert.equal((await call(p.helloV1, '/')).body, 'hello from v1 (stable)\n');
    t.assert.equal((await call(p.helloV2, '/')).body, 'hello from v2 (canary)\n');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('a taken port fails with a message naming it, and the servers already bound are closed', async (t) => {
  t.plan(3);
  const first = await startUpstreams({ ports: ZERO });
  t.after(() => first.close());
  const early = await freePort();
  const clash = { ...ZERO, httpbin: early, model: first.ports.httpbin };
  await assert.rejects(startUpstreams({ ports: clash }), (err: Error) => {
    t.assert.match(err.message, /model/);
    t.assert.match(err.message, new RegExp(`:${first.ports.httpbin} is already in use`));
    return true;
  });
  t.assert.equal(await canListen(early), true, 'httpbin port bound before the failure is still held');
});
