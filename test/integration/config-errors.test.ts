/**
 * Bad configuration through the whole gateway: a file that stops parsing keeps its last good
 * objects live and the error shows on /diag; an invalid object is rejected alone while its
 * neighbours keep routing; fixing the file brings everything back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { docs, mapping, startTestGateway, startUpstream } from './gateway-harness.js';

async function status(url: string): Promise<number> {
  const res = await request(url);
  await res.body.text();
  return res.statusCode;
}

test('a file that stops parsing keeps its last good routes; the error is on /diag until fixed', async (t) => {
  const up = await startUpstream('up');
  const good = docs(mapping('a', { prefix: '/a/', service: `127.0.0.1:${up.port}` }));
  const gw = await startTestGateway({ 'a.yaml': good });
  t.after(async () => {
    await gw.close();
    await up.close();
  });
  assert.equal(await status(`${gw.url}/a/x`), 200);

  await gw.write(
    'a.yaml',
    'apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: a\n  broken: [\n',
  );
  await gw.waitForIr((ir) => ir.statuses.some((s) => s.conditions.some((c) => c.reason === 'ParseError')));
  assert.equal(await status(`${gw.url}/a/x`), 200, 'the last good contents stay live');
  const diag = JSON.parse(await (await request(`${gw.adminUrl}/diag`)).body.text()) as {
    errors: { location: string; message: string }[];
  };
  assert.ok(
    diag.errors.some((e) => e.location.startsWith('a.yaml:')),
    `parse error listed with its file: ${JSON.stringify(diag.errors)}`,
  );

  // A second file with one invalid and one valid Mapping: only the invalid one is left out.
  await gw.write(
    'b.yaml',
    docs(
      mapping('b-bad', { prefix: '/b-bad/', service: `127.0.0.1:${up.port}`, timeout_ms: 'soon' }),
      mapping('b-good', { prefix: '/b-good/', service: `127.0.0.1:${up.port}` }),
    ),
  );
  await gw.waitForIr((ir) => ir.routes.some((r) => r.match.path.value === '/b-good/'));
  assert.equal(await status(`${gw.url}/b-good/x`), 200);
  assert.equal(await status(`${gw.url}/b-bad/x`), 404);
  assert.equal(await status(`${gw.url}/a/x`), 200);

  await gw.write('a.yaml', docs(mapping('a', { prefix: '/a2/', service: `127.0.0.1:${up.port}` })));
  await gw.waitForIr((ir) => ir.routes.some((r) => r.match.path.value === '/a2/'));
  assert.equal(await status(`${gw.url}/a2/x`), 200);
  assert.equal(await status(`${gw.url}/a/x`), 404);
  const ir = gw.gateway.reconciler.lastIr!;
  assert.ok(
    !ir.statuses.some((s) => s.conditions.some((c) => c.reason === 'ParseError')),
    'parse error cleared',
  );
});
