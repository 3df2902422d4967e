import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { MappingSpec } from '../resources/schemas/getambassador.io/mapping.js';
import type { ResourceStatus } from '../resources/types.js';
import { buildIr } from './build.js';
import { mapping, resourceSet } from './test-support.js';

const opts = { ambassadorId: 'default' };

test('deterministic: same input gives byte-identical output; route order does not depend on input order', () => {
  const ms = [
    mapping({ name: 'a' }, { prefix: '/a/', headers: { x: '1' } }),
    mapping({ name: 'b' }, { prefix: '/b/long/' }),
    mapping({ name: 'c' }, { prefix: '/c/', precedence: 3 }),
  ];
  const one = JSON.stringify(buildIr(resourceSet({ mappings: ms }), opts));
  assert.equal(JSON.stringify(buildIr(resourceSet({ mappings: ms }), opts)), one);
  const reversed = buildIr(resourceSet({ mappings: [...ms].reverse() }), opts);
  assert.deepEqual(
    reversed.routes.map((r) => r.sources),
    (JSON.parse(one) as { routes: { sources: string[] }[] }).routes.map((r) => r.sources),
  );
});

test('hash changes with the input and only with it', () => {
  const a = buildIr(resourceSet({ mappings: [mapping({ name: 'a' }, { prefix: '/a/' })] }), opts);
  const a2 = buildIr(resourceSet({ mappings: [mapping({ name: 'a' }, { prefix: '/a/' })] }), opts);
  const b = buildIr(resourceSet({ mappings: [mapping({ name: 'a' }, { prefix: '/b/' })] }), opts);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, a2.hash);
  assert.notEqual(a.hash, b.hash);
});

test('hash: header order is part of the input (it shapes the IR); a moved object changes it too', () => {
  const withHeaders = (adds: MappingSpec['add_request_headers']) =>
    buildIr(resourceSet({ mappings: [mapping({ name: 'a' }, { add_request_headers: adds })] }), opts);
  const xy = withHeaders({ x: { value: '1' }, y: { value: '2' } });
  const yx = withHeaders({ y: { value: '2' }, x: { value: '1' } });
  // The routes differ (headers are added in written order), so a skip on "same hash" would be wrong.
  assert.notDeepEqual(xy.routes, yx.routes);
  assert.notEqual(xy.hash, yx.hash);
  assert.equal(withHeaders({ x: { value: '1' }, y: { value: '2' } }).hash, xy.hash);

  const at = (line: number) => {
    const m = mapping({ name: 'a' }, { prefix: '/a/' });
    return buildIr(
      resourceSet({ mappings: [{ ...m, location: { source: 'file', file: 'a.yaml', line } }] }),
      opts,
    );
  };
  assert.equal(at(1).hash, at(1).hash);
  assert.notEqual(at(1).hash, at(5).hash);
});

test('status only gets worse: an input Rejected status stays Rejected and keeps its conditions', () => {
  const m = mapping({ name: 'a' }, { prefix: '/a/', method: 'get' });
  const input: ResourceStatus = {
    key: m.key,
    kind: 'Mapping',
    apiVersion: m.apiVersion,
    namespace: 'default',
    name: 'a',
    location: m.location,
    state: 'Rejected',
    conditions: [{ reason: 'InvalidField', message: 'earlier', critical: true }],
  };
  const ir = buildIr(resourceSet({ mappings: [m], statuses: [input] }), opts);
  assert.equal(ir.statuses.length, 1);
  assert.equal(ir.statuses[0].state, 'Rejected');
  assert.deepEqual(
    ir.statuses[0].conditions.map((c) => c.reason),
    ['InvalidField', 'Ignored'],
  );
});

test('a Mapping with no hostname/host is NotServed (warning), and no route is built for it', () => {
  const ir = buildIr(resourceSet({ mappings: [mapping({ name: 'a' }, { hostname: undefined })] }), opts);
  assert.equal(ir.routes.length, 0);
  assert.equal(ir.statuses[0].state, 'Warning');
  assert.equal(ir.statuses[0].conditions[0].reason, 'NotServed');
  assert.match(ir.statuses[0].conditions[0].message, /hostname: "\*"/);
});

test('never throws on arbitrary Mapping specs, and keeps routes[i].order === i', () => {
  const str = fc.string({ maxLength: 12 });
  const spec = fc.record(
    {
      prefix: fc.oneof(fc.constantFrom('/', '/a/', '(', '[a-z]+'), str),
      prefix_regex: fc.boolean(),
      prefix_exact: fc.boolean(),
      case_sensitive: fc.boolean(),
      hostname: fc.oneof(fc.constantFrom('*', '*.x.com', 'x.*', 'a.*.b', 'h:80', '[::1]:8'), str),
      host: str,
      host_regex: fc.boolean(),
      method: str,
      method_regex: fc.boolean(),
      headers: fc.dictionary(str, str, { maxKeys: 2 }),
      regex_headers: fc.dictionary(str, str, { maxKeys: 2 }),
      query_parameters: fc.dictionary(str, str, { maxKeys: 2 }),
      precedence: fc.integer({ min: -2, max: 2 }),
      service: fc.oneof(fc.constantFrom('a', 'https://b:1', '[::1]:80', 'x:0', 'c.d'), str),
      weight: fc.integer({ min: 0, max: 100 }),
      shadow: fc.boolean(),
      host_redirect: fc.boolean(),
      path_redirect: str,
      rewrite: str,
      regex_rewrite: fc.record({ pattern: str, substitution: str }),
      timeout_ms: fc.nat(),
      connect_timeout_ms: fc.nat(),
    },
    { requiredKeys: ['prefix', 'service'] },
  );
  fc.assert(
    fc.property(fc.array(spec, { maxLength: 8 }), (specs) => {
      const ms = specs.map((s, i) =>
        mapping({ name: `m${i}` }, { hostname: undefined, ...(s as Partial<MappingSpec>) }),
      );
      const ir = buildIr(resourceSet({ mappings: ms }), opts);
      for (let i = 0; i < ir.routes.length; i++) assert.equal(ir.routes[i].order, i);
      assert.equal(ir.statuses.length, ms.length);
      for (const r of ir.routes)
        if (r.targets.length > 0) assert.equal(r.targets[r.targets.length - 1].threshold, 100);
    }),
    { numRuns: 300 },
  );
});

test('performance: 10,000 Mappings build well under a second', () => {
  const ms = [];
  for (let i = 0; i < 10_000; i++) {
    ms.push(
      mapping(
        { name: `m${i}`, namespace: `ns${i % 50}` },
        {
          prefix: `/svc${i % 2000}/v${i % 7}/`,
          hostname: i % 3 === 0 ? '*' : `h${i % 100}.example.com`,
          service: `svc${i % 500}:8080`,
          ...(i % 5 === 0 ? { headers: { 'x-tenant': `t${i % 11}` } } : {}),
          ...(i % 4 === 0 ? { weight: 10 } : {}),
        },
      ),
    );
  }
  const set = resourceSet({ mappings: ms });
  buildIr(set, opts);
  // CPU time, not wall time: the test machines are shared, and wall time measures the neighbours.
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const ir = buildIr(set, opts);
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const wallMs = performance.now() - t0;
  assert.ok(ir.routes.length > 1000);
  assert.ok(cpuMs < 1000, `buildIr over 10,000 Mappings took ${cpuMs.toFixed(0)} ms of CPU`);
  console.log(
    `# buildIr(10,000 Mappings): ${cpuMs.toFixed(0)} ms CPU, ${wallMs.toFixed(0)} ms wall, ${ir.routes.length} routes, ${ir.clusters.length} clusters`,
  );
});
