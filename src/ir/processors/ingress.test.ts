import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IngressSpec } from '../../resources/schemas/networking.k8s.io/ingress.js';
import type { IngressResource } from '../../resources/types.js';
import { literalPrefix } from '../../snapshot/route-table.js';
import { buildIr } from '../build.js';
import { mapping, resourceSet, service, slice } from '../test-support.js';
import { hostForm, oldestFirst, pathForm } from './ingress.js';

function ingress(name: string, spec: IngressSpec, extra: Partial<IngressResource> = {}): IngressResource {
  return {
    key: `Ingress/default/${name}`,
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    name,
    namespace: 'default',
    labels: {},
    location: { source: 'test' },
    spec,
    ingressClass: { via: 'ingressClassName', name: 'legate' },
    ...extra,
  };
}

const svc = (name: string, port: number | { name: string }) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : port },
});

function fullMatch(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

function matches(p: ReturnType<typeof pathForm>['path'], path: string): boolean {
  if (p.kind === 'exact') return path === p.value;
  if (p.kind === 'prefix') return path.startsWith(p.value);
  return fullMatch(p.value).test(path);
}

test('Prefix is element-wise, trailing slash ignored on both sides, "/" matches everything', () => {
  const table: [string, string, boolean][] = [
    ['/aaa/bbb', '/aaa/bbb', true],
    ['/aaa/bbb', '/aaa/bbb/', true],
    ['/aaa/bbb', '/aaa/bbb/ccc', true],
    ['/aaa/bbb/', '/aaa/bbb', true],
    ['/aaa/bbb', '/aaa/bbbxyz', false],
    ['/aaa/bb', '/aaa/bbb', false],
    ['/aaa', '/aaaccc', false],
    ['/aaa', '/AAA', false],
    ['/', '/anything/at/all', true],
    ['/v1.0', '/v1x0', false],
    ['/v1.0', '/v1.0/x', true],
  ];
  for (const [rule, req, want] of table)
    assert.equal(matches(pathForm({ path: rule, pathType: 'Prefix' }).path, req), want, `${rule} vs ${req}`);
  for (const [rule, req, want] of table)
    assert.equal(
      matches(pathForm({ path: rule, pathType: 'ImplementationSpecific' }).path, req),
      want,
      `ImplementationSpecific ${rule} vs ${req}`,
    );
});

test('Exact is the whole path, case-sensitive, no trailing-slash folding', () => {
  const p = pathForm({ path: '/foo', pathType: 'Exact' }).path;
  assert.equal(matches(p, '/foo'), true);
  assert.equal(matches(p, '/foo/'), false);
  assert.equal(matches(p, '/Foo'), false);
  assert.equal(matches(pathForm({ path: '/foo/', pathType: 'Exact' }).path, '/foo'), false);
});

test('the Prefix regex is indexed under its whole literal path by the route table', () => {
  assert.equal(literalPrefix(pathForm({ path: '/aaa/bbb', pathType: 'Prefix' }).path.value), '/aaa/bbb');
  assert.equal(literalPrefix(pathForm({ path: '/api/', pathType: 'Prefix' }).path.value), '/api');
  // A metacharacter in the path shortens the literal lead but never makes it wrong.
  assert.equal(literalPrefix(pathForm({ path: '/v1.0/x', pathType: 'Prefix' }).path.value), '/v1');
});

test('wildcard host: suffix index plus an authority regex admitting exactly one label', () => {
  const h = hostForm('*.foo.com');
  assert.deepEqual(h.host, { kind: 'suffix', value: '.foo.com' });
  const re = fullMatch(h.headers[0].value);
  assert.equal(re.test('bar.foo.com'), true);
  assert.equal(re.test('bar.foo.com:8443'), true);
  assert.equal(re.test('baz.bar.foo.com'), false);
  assert.equal(re.test('foo.com'), false);
  assert.deepEqual(hostForm('Foo.COM'), {
    text: 'foo.com',
    host: { kind: 'exact', value: 'foo.com' },
    headers: [],
  });
  assert.deepEqual(hostForm('').host, { kind: 'any' });
});

test('oldest first: creationTimestamp, then namespace/name, objects without one last', () => {
  const order = oldestFirst([
    ingress('c', {}),
    ingress('b', {}, { creationTimestamp: '2024-02-01T00:00:00Z' }),
    ingress('a', {}),
    ingress('z', {}, { creationTimestamp: '2024-01-01T00:00:00Z' }),
  ]).map((i) => i.name);
  assert.deepEqual(order, ['z', 'b', 'a', 'c']);
});

test('order: longest path first, Exact before Prefix on a tie, defaultBackend below a Mapping "/"', () => {
  const ir = buildIr(
    resourceSet({
      mappings: [mapping({ name: 'root' }, { prefix: '/', service: 'm.example.com' })],
      ingresses: [
        ingress('i', {
          defaultBackend: svc('fallback', 80),
          rules: [
            {
              http: {
                paths: [
                  { path: '/a', pathType: 'Prefix', backend: svc('p', 80) },
                  { path: '/a', pathType: 'Exact', backend: svc('e', 80) },
                  { path: '/a/b', pathType: 'Prefix', backend: svc('long', 80) },
                ],
              },
            },
          ],
        }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  const shown = ir.routes.map(
    (r) => `${r.match.path.kind}:${r.match.path.value}:${r.targets[0].cluster.split('_')[1]}`,
  );
  assert.deepEqual(shown, [
    'regex:/a/b(?:/.*)?:long',
    'exact:/a:e',
    'regex:/a(?:/.*)?:p',
    'prefix:/:m',
    'prefix:/:fallback',
  ]);
  for (const r of ir.routes.filter((x) => x.sources[0].startsWith('Ingress/')))
    assert.equal(r.targets[0].rewrite, null, 'the path goes upstream unchanged');
});

test('named ports resolve through the Service and its EndpointSlice; problems point at the field', () => {
  const ir = buildIr(
    resourceSet({
      services: [service({ name: 'api' }, { ports: [{ name: 'http', port: 80 }] })],
      endpointSlices: [
        slice(
          { name: 'api-1', service: 'api' },
          {
            addressType: 'IPv4',
            ports: [{ name: 'http', port: 8080 }],
            endpoints: [{ addresses: ['10.0.0.9'] }],
          },
        ),
      ],
      ingresses: [
        ingress('i', {
          rules: [
            {
              http: {
                paths: [
                  { path: '/ok', pathType: 'Prefix', backend: svc('api', { name: 'http' }) },
                  { path: '/typo', pathType: 'Prefix', backend: svc('api', { name: 'htp' }) },
                  { path: '/res', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } },
                ],
              },
            },
          ],
        }),
      ],
    }),
    { ambassadorId: 'default' },
  );
  assert.equal(ir.routes.length, 1);
  const cluster = ir.clusters.find((c) => c.id === ir.routes[0].targets[0].cluster);
  assert.deepEqual(cluster?.endpoints, [{ address: '10.0.0.9', port: 8080 }]);
  const st = ir.statuses.find((s) => s.key === 'Ingress/default/i');
  assert.equal(st?.state, 'Warning');
  assert.deepEqual(
    st?.conditions.map((c) => [c.reason, c.field, c.critical]),
    [
      ['ServicePortNotFound', 'spec.rules[0].http.paths[1].backend.service.port.name', false],
      ['Unsupported', 'spec.rules[0].http.paths[2].backend.resource', false],
    ],
  );
});

test('defaultBackend covers the rule hosts only, or every host when a rule has none', () => {
  const build = (spec: IngressSpec) =>
    buildIr(resourceSet({ ingresses: [ingress('i', spec)] }), { ambassadorId: 'default' }).routes.map((r) =>
      JSON.stringify(r.match.host),
    );
  const rule = (host?: string) => ({
    host,
    http: { paths: [{ path: '/x', pathType: 'Exact' as const, backend: svc('a', 80) }] },
  });
  assert.deepEqual(build({ defaultBackend: svc('d', 80), rules: [rule('a.com'), rule('b.com')] }).slice(2), [
    '{"kind":"exact","value":"b.com"}',
    '{"kind":"exact","value":"a.com"}',
  ]);
  assert.deepEqual(build({ defaultBackend: svc('d', 80), rules: [rule('a.com'), rule()] }).slice(2), [
    '{"kind":"any"}',
  ]);
  assert.deepEqual(build({ defaultBackend: svc('d', 80) }), ['{"kind":"any"}']);
});
