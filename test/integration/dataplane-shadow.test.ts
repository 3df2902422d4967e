/**
 * Shadowing: the mirror copy reaches the shadow cluster with `-shadow` on its Host, its answer is
 * discarded, and a dead or slow shadow never delays or fails the primary. Requests with a body are
 * not mirrored (see upstream/shadow.ts).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
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

test('the shadow gets a copy with -shadow on the Host; the primary answers alone', async (t) => {
  const primary = await startOrigin(t, echo('primary'));
  const mirrored: IncomingMessage[] = [];
  let seen: () => void = () => {};
  const arrived = new Promise<void>((r) => {
    seen = r;
  });
  const shadow = await startOrigin(t, (req, res) => {
    mirrored.push(req);
    res.end('shadow answer must be discarded');
    seen();
  });
  const snap = snapshotOf(
    [
      irRoute(0, {
        path: '/api/',
        rewrite: { kind: 'prefix', value: '/' },
        shadow: {
          mapping: 'Mapping/default/s',
          cluster: 'cs',
          percent: 100,
          rewrite: { kind: 'prefix', value: '/' },
          hostRewrite: null,
          timeoutMs: 1000,
        },
        targets: [{ cluster: 'cp' }],
      }),
    ],
    [cluster('cp', [primary.port]), cluster('cs', [shadow.port])],
  );
  const { url, plane } = await startPlane(t, snap);
  const e = await getJson(url, '/api/x?q=1', { host: 'app.example:8080' });
  assert.equal(e.name, 'primary');
  await arrived;
  assert.equal(mirrored[0].headers.host, 'app.example-shadow:8080');
  assert.equal(mirrored[0].url, '/x?q=1');
  assert.equal(plane.stats.shadowRequests, 1);

  const withBody = await get(url, '/api/y', { 'content-length': '0' });
  assert.equal(withBody.status, 200);
});

test('a dead shadow cluster never fails the primary; bodies are not mirrored', async (t) => {
  const primary = await startOrigin(t, echo('primary'));
  const snap = snapshotOf(
    [
      irRoute(0, {
        shadow: {
          mapping: 'Mapping/default/s',
          cluster: 'dead',
          percent: 100,
          rewrite: null,
          hostRewrite: null,
          timeoutMs: 100,
        },
        targets: [{ cluster: 'cp' }],
      }),
    ],
    [cluster('cp', [primary.port]), cluster('dead', [1])],
  );
  const { url, plane } = await startPlane(t, snap);
  for (let i = 0; i < 5; i++) assert.equal((await getJson(url, '/')).name, 'primary');
  const res = await fetch(`${url}/`, { method: 'POST', body: 'payload' });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { bytes: number }).bytes, 7);
  assert.equal(plane.stats.shadowSkipped, 1);
});
