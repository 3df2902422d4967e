import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildIr } from '../build.js';
import { mapping, module, resourceSet } from '../test-support.js';
import { DEFAULT_SETTINGS } from './module.js';

test('no Module: Emissary defaults', () => {
  const ir = buildIr(resourceSet({ mappings: [mapping({ name: 'm' }, {})] }), { ambassadorId: 'default' });
  assert.deepEqual(ir.settings, DEFAULT_SETTINGS);
  assert.equal(ir.settings.useRemoteAddress, true);
  assert.equal(ir.settings.maxRequestHeadersKb, 60);
  assert.equal(ir.routes[0].targets[0].timeoutMs, 3000);
});

test('Module settings, request timeout default and ignored keys', () => {
  const ir = buildIr(
    resourceSet({
      modules: [
        module(
          { name: 'ambassador' },
          {
            config: {
              cluster_request_timeout_ms: 9000,
              merge_slashes: true,
              xff_num_trusted_hops: 2,
              retry_policy: { retry_on: '5xx' },
              lua_scripts: 'x',
            } as never,
          },
        ),
      ],
      mappings: [
        mapping({ name: 'a' }, { prefix: '/a/' }),
        mapping({ name: 'b' }, { prefix: '/b/', timeout_ms: 0 }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.settings.mergeSlashes, true);
  assert.equal(ir.settings.xffNumTrustedHops, 2);
  const t = new Map(ir.routes.map((r) => [r.sources[0], r.targets[0].timeoutMs]));
  assert.equal(t.get('Mapping/default/a'), 9000);
  assert.equal(t.get('Mapping/default/b'), 0);
  const st = ir.statuses.find((s) => s.kind === 'Module');
  assert.equal(st?.state, 'Warning');
  assert.match(st?.conditions[0].message ?? '', /lua_scripts, retry_policy$/);
});

test('a second ambassador Module and other Module names are rejected; the one in the gateway namespace wins', () => {
  const ir = buildIr(
    resourceSet({
      modules: [
        module({ name: 'ambassador', namespace: 'aaa' }, { config: { server_name: 'aaa' } }),
        module({ name: 'ambassador', namespace: 'gw' }, { config: { server_name: 'gw' } }),
        module({ name: 'tls', namespace: 'gw' }, {}),
      ],
    }),
    { ambassadorId: 'default', namespace: 'gw' },
  );
  assert.equal(ir.settings.serverName, 'gw');
  assert.deepEqual(
    ir.statuses.map((s) => [s.key, s.state]),
    [
      ['Module/aaa/ambassador', 'Rejected'],
      ['Module/gw/ambassador', 'Accepted'],
      ['Module/gw/tls', 'Rejected'],
    ],
  );
});

test('defaults: httpmapping first, then top level; explicit {} / [] on the Mapping overrides', () => {
  const ir = buildIr(
    resourceSet({
      modules: [
        module(
          { name: 'ambassador' },
          {
            config: {
              defaults: {
                httpmapping: { add_request_headers: { 'X-From': { value: 'httpmapping' } } },
                add_request_headers: { 'x-from': { value: 'top' } },
                remove_response_headers: ['Server'],
                add_response_headers: { 'x-r': 'bare string' },
              },
            } as never,
          },
        ),
      ],
      mappings: [
        mapping({ name: 'a' }, { prefix: '/a/' }),
        mapping({ name: 'b' }, { prefix: '/b/', add_request_headers: {}, remove_response_headers: [] }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  const a = ir.routes.find((r) => r.sources[0] === 'Mapping/default/a')?.targets[0];
  const b = ir.routes.find((r) => r.sources[0] === 'Mapping/default/b')?.targets[0];
  assert.deepEqual(a?.addRequestHeaders, [{ name: 'x-from', value: 'httpmapping', append: true }]);
  assert.deepEqual(a?.addResponseHeaders, [{ name: 'x-r', value: 'bare string', append: true }]);
  assert.deepEqual(a?.removeResponseHeaders, ['server']);
  assert.deepEqual(b?.addRequestHeaders, []);
  assert.deepEqual(b?.removeResponseHeaders, []);
  assert.deepEqual(b?.addResponseHeaders, [{ name: 'x-r', value: 'bare string', append: true }]);
});
