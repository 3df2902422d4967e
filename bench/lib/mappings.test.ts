// The generated Mapping sets go through the real pipeline (parse → resources → IR → compile)
// without a single rejection, give the expected number of routes, and route what they claim to.
import { test } from 'node:test';
import { buildIr } from '../../src/ir/build.js';
import { buildResourceSet } from '../../src/resources/build.js';
import { compileSnapshot } from '../../src/snapshot/compile.js';
import { parseConfigText } from '../../src/sources/file/parse.js';
import { expectedRouteCount, generateMappings } from './mappings.mjs';

test('a generated set of 200 Mappings is accepted whole and routes as generated', (t) => {
  t.plan(7);
  const text = generateMappings({ count: 200, service: '127.0.0.1:9', extraPrefixes: ['/probe-1/'] });
  const parsed = parseConfigText(text, 'gen.yaml', 'file');
  t.assert.equal(parsed.ok, true);
  const resources = buildResourceSet(
    [{ source: 'file', objects: parsed.objects, problems: parsed.problems }],
    {
      ambassadorId: 'default',
    },
  );
  t.assert.equal(resources.mappings.length, 201);
  const ir = buildIr(resources, { ambassadorId: 'default' });
  const bad = ir.statuses
    .filter((s) => s.state !== 'Accepted')
    .map((s) => `${s.key}: ${JSON.stringify(s.conditions)}`);
  t.assert.deepEqual(bad, []);
  t.assert.equal(ir.routes.length, expectedRouteCount(200, 1));
  const snap = compileSnapshot(ir, 1);
  const req = (path: string, host = 'gw.local', headers: Record<string, string> = {}) =>
    snap.table.match({ method: 'GET', host, authority: host, path, query: '', headers });
  t.assert.equal(req('/probe-1/x')?.ir.sources[0], 'Mapping/default/gen-extra-0');
  // gen-3 only answers on its own hostname; gen-19 is the 10% canary partner of gen-18.
  t.assert.equal(req('/svc-3/', 'svc-3.example.com')?.ir.sources[0], 'Mapping/default/gen-3');
  t.assert.deepEqual(req('/svc-18/')?.ir.sources.slice().sort(), [
    'Mapping/default/gen-18',
    'Mapping/default/gen-19',
  ]);
});
