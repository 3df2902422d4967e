import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildIr } from '../build.js';
import { mapping, module, resourceSet, service, slice } from '../test-support.js';
import { parseService, qualifyHost } from './services.js';

test('parseService: grammar, default ports by scheme, IPv6 and errors', () => {
  assert.deepEqual(parseService('quote'), {
    scheme: 'http',
    explicitScheme: false,
    host: 'quote',
    port: 80,
    explicitPort: false,
    authority: 'quote',
  });
  const https = parseService('https://api.example.com/');
  assert.ok(!('error' in https));
  assert.equal(https.port, 443);
  assert.equal(https.authority, 'api.example.com');
  const v6 = parseService('[::1]:8080');
  assert.ok(!('error' in v6));
  assert.equal(v6.host, '::1');
  assert.equal(v6.port, 8080);
  for (const bad of ['grpc://x', 'x:99999', 'x:abc', '::1', 'x/path', 'user@x', '[::1', 'a b'])
    assert.ok('error' in parseService(bad), bad);
});

test('qualifyHost: appends the Mapping namespace only when every condition holds', () => {
  const o = { mappingNamespace: 'team', gatewayNamespace: 'default', useAmbassadorNamespace: false };
  assert.equal(qualifyHost('quote', o), 'quote.team');
  assert.equal(qualifyHost('quote.other', o), 'quote.other');
  assert.equal(qualifyHost('localhost', o), 'localhost');
  assert.equal(qualifyHost('::1', o), '::1');
  assert.equal(qualifyHost('quote', { ...o, mappingNamespace: 'default' }), 'quote');
  assert.equal(qualifyHost('quote', { ...o, useAmbassadorNamespace: true }), 'quote');
});

const svc = service(
  { name: 'quote', namespace: 'team' },
  {
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'admin', port: 9000 },
    ],
  },
);
const sl = slice(
  { name: 'quote-abc', namespace: 'team', service: 'quote' },
  {
    addressType: 'IPv4',
    ports: [
      { name: 'http', port: 8080 },
      { name: 'admin', port: 9001 },
    ],
    endpoints: [
      { addresses: ['10.0.0.2'], conditions: { ready: true } },
      { addresses: ['10.0.0.1'] },
      { addresses: ['10.0.0.3'], conditions: { ready: false } },
    ],
  },
);

test('a Service found by name.namespace resolves to ready endpoints on the slice port of the same name', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [mapping({ name: 'm', namespace: 'team' }, { service: 'quote' })],
      services: [svc],
      endpointSlices: [sl],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.clusters.length, 1);
  const c = ir.clusters[0];
  assert.equal(c.resolution, 'kubernetes');
  assert.deepEqual(c.serviceRef, { namespace: 'team', name: 'quote', port: 80 });
  assert.deepEqual(c.endpoints, [
    { address: '10.0.0.1', port: 8080 },
    { address: '10.0.0.2', port: 8080 },
  ]);
  assert.equal(c.authority, 'quote');
  assert.match(c.id, /^cluster_quote_80_team_[0-9a-f]{8}$/);
  assert.equal(ir.statuses[0].state, 'Accepted');
});

test('missing Service port → ServicePortNotFound warning, empty endpoints; no slices → NoEndpoints', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'port', namespace: 'team' }, { prefix: '/p/', service: 'quote:81' }),
        mapping({ name: 'none', namespace: 'team' }, { prefix: '/n/', service: 'quote:9000' }),
      ],
      services: [svc],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.routes.length, 2);
  const reasons = ir.statuses.map((s) => [s.key, s.state, s.conditions.map((c) => c.reason)]);
  assert.deepEqual(reasons, [
    ['Mapping/team/port', 'Warning', ['ServicePortNotFound']],
    ['Mapping/team/none', 'Warning', ['NoEndpoints']],
    ['Service/team/quote', 'Accepted', []],
  ]);
  for (const c of ir.clusters) assert.deepEqual(c.endpoints, []);
});

test('no Service: dotted names are static without a warning; bare names are static with ServiceNotFound', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [
        mapping({ name: 'dns' }, { prefix: '/d/', service: 'https://httpbin.org' }),
        mapping({ name: 'bare' }, { prefix: '/b/', service: 'backend:8080' }),
        mapping({ name: 'local' }, { prefix: '/l/', service: 'localhost:9000' }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  const byId = new Map(ir.clusters.map((c) => [c.service, c]));
  assert.deepEqual(byId.get('https://httpbin.org')?.endpoints, [{ address: 'httpbin.org', port: 443 }]);
  assert.equal(byId.get('https://httpbin.org')?.scheme, 'https');
  assert.deepEqual(byId.get('backend:8080')?.endpoints, [{ address: 'backend', port: 8080 }]);
  assert.deepEqual(
    ir.statuses.map((s) => s.conditions.map((c) => c.reason)),
    [[], ['ServiceNotFound'], []],
  );
});

test('cluster ids are shared by equal policies, split by different ones, and stable across builds', () => {
  const set = resourceSet({
    mappings: [
      mapping({ name: 'a' }, { prefix: '/a/', service: 'web:80' }),
      mapping({ name: 'b' }, { prefix: '/b/', service: 'web:80' }),
      mapping({ name: 'c' }, { prefix: '/c/', service: 'web:80', connect_timeout_ms: 100 }),
    ],
  });
  const one = buildIr(set, { ambassadorId: 'default' });
  assert.equal(one.clusters.length, 2);
  const byMapping = new Map(one.routes.map((r) => [r.sources[0], r.targets[0].cluster]));
  assert.equal(byMapping.get('Mapping/default/a'), byMapping.get('Mapping/default/b'));
  assert.notEqual(byMapping.get('Mapping/default/a'), byMapping.get('Mapping/default/c'));
  const two = buildIr(resourceSet({ mappings: [set.mappings[0]] }), { ambassadorId: 'default' });
  assert.equal(two.clusters[0].id, byMapping.get('Mapping/default/a'));
});

test('Module cluster timeouts are the defaults for Mapping clusters', () => {
  const ir = buildIr(
    resourceSet({
      modules: [
        module(
          { name: 'ambassador' },
          { config: { cluster_idle_timeout_ms: 5000, cluster_max_connection_lifetime_ms: 60000 } },
        ),
      ],
      mappings: [
        mapping({ name: 'a' }, { prefix: '/a/' }),
        mapping({ name: 'b' }, { prefix: '/b/', service: 'other', cluster_idle_timeout_ms: 10 }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  const c = new Map(ir.clusters.map((x) => [x.service, x]));
  assert.equal(c.get('web.example.com')?.idleTimeoutMs, 5000);
  assert.equal(c.get('web.example.com')?.maxConnectionLifetimeMs, 60000);
  assert.equal(c.get('web.example.com')?.connectTimeoutMs, 3000);
  assert.equal(c.get('other')?.idleTimeoutMs, 10);
});
