import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MappingSpec } from '../schemas/getambassador.io/mapping.js';
import { checkerFor } from '../schemas/validate.js';
import { convertMappingV0, convertMappingV2, prepareSpec } from './mapping.js';

const valid = (spec: unknown) => checkerFor(MappingSpec).Check(spec);

test('v2 union types become the v3alpha1 shape', () => {
  const { spec, notes } = convertMappingV2({
    prefix: '/a/',
    service: 'svc:8080',
    ambassador_id: 'blue',
    tls: true,
    headers: { 'x-present': true, 'x-exact': 'v' },
    regex_headers: { 'x-re': 'a.*' },
    query_parameters: { debug: true },
    cors: { origins: 'https://a.com, https://b.com', methods: 'GET, POST', credentials: true },
    add_request_headers: { 'x-short': 'v1', 'x-full': { value: 'v2', append: false } },
    remove_response_headers: 'server',
    v3StatsName: 'stats',
    v3health_checks: [{ health_check: { http: { path: '/' } } }],
  });
  assert.deepEqual(notes, []);
  assert.deepEqual(spec, {
    prefix: '/a/',
    service: 'https://svc:8080',
    ambassador_id: ['blue'],
    headers: { 'x-exact': 'v' },
    regex_headers: { 'x-present': '.*', 'x-re': 'a.*' },
    regex_query_parameters: { debug: '.*' },
    cors: { origins: ['https://a.com', 'https://b.com'], methods: ['GET', 'POST'], credentials: true },
    add_request_headers: { 'x-short': { value: 'v1' }, 'x-full': { value: 'v2', append: false } },
    remove_response_headers: ['server'],
    stats_name: 'stats',
    health_checks: [{ health_check: { http: { path: '/' } } }],
    hostname: '*',
  });
  assert.ok(valid(spec));
});

test('v2: host is kept (no hostname added); tls string kept; tls false dropped; http:// + tls upgraded with a note', () => {
  assert.deepEqual(
    convertMappingV2({ prefix: '/', service: 's', host: 'a.com', host_regex: false, tls: 'ctx' }).spec,
    {
      prefix: '/',
      service: 's',
      host: 'a.com',
      host_regex: false,
      tls: 'ctx',
    },
  );
  assert.deepEqual(convertMappingV2({ prefix: '/', service: 's', tls: false }).spec, {
    prefix: '/',
    service: 's',
    hostname: '*',
  });
  const up = convertMappingV2({ prefix: '/', service: 'http://s', tls: true });
  assert.equal(up.spec.service, 'https://s');
  assert.equal(up.notes.length, 1);
  assert.equal(up.notes[0].critical, false);
  assert.equal(convertMappingV2({ prefix: '/', service: 'https://s', tls: true }).spec.service, 'https://s');
});

test('v2 exact header wins over nothing; explicit regex_headers wins over a `true` presence test', () => {
  const { spec } = convertMappingV2({
    prefix: '/',
    service: 's',
    headers: { x: true },
    regex_headers: { x: '^a$' },
  });
  assert.deepEqual(spec.regex_headers, { x: '^a$' });
  assert.equal(spec.headers, undefined);
});

test('v0: circuit_breaker → circuit_breakers; rate_limits noted and dropped', () => {
  const { spec, notes } = convertMappingV0({
    prefix: '/',
    service: 's',
    circuit_breaker: { max_connections: 10 },
    rate_limits: [{ descriptor: 'd', headers: ['x'] }],
  });
  assert.deepEqual(spec, {
    prefix: '/',
    service: 's',
    circuit_breakers: [{ max_connections: 10 }],
    hostname: '*',
  });
  assert.deepEqual(
    notes.map((n) => [n.field, n.critical]),
    [['spec.rate_limits', false]],
  );
  assert.ok(valid(spec));
});

test('prepareSpec: ambassadorId synonym, inert fields and webhook helpers dropped with notes, input untouched', () => {
  const input = { prefix: '/', service: 's', ambassadorId: 'x', envoy_override: {}, v2BoolHeaders: ['a'] };
  const frozen = JSON.stringify(input);
  const r = prepareSpec('Mapping', 'v3alpha1', input);
  assert.deepEqual(r.spec, { prefix: '/', service: 's', ambassador_id: 'x' });
  assert.deepEqual(
    r.notes.map((n) => n.field),
    ['spec.envoy_override', 'spec.v2BoolHeaders'],
  );
  assert.equal(JSON.stringify(input), frozen);
  const same = { prefix: '/', service: 's' };
  assert.equal(prepareSpec('Mapping', 'v2', same).spec, same);
});
