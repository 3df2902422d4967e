/**
 * Ingress networking.k8s.io/v1 through the whole gateway (file source → resources → IR → snapshot
 * → data plane), with real upstreams: Exact vs element-wise Prefix, the one-label wildcard host,
 * defaultBackend, a named port resolved through Service + EndpointSlice, the path passed on
 * unchanged, and an Ingress of another class not served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { docs, startTestGateway, startUpstream, type Upstream } from './gateway-harness.js';

/** A Service whose named port `http` (80) maps to the EndpointSlice port `http` = the upstream. */
function serviceFor(name: string, up: Upstream): string[] {
  return [
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    }),
    JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: up.port }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    }),
  ];
}

const backend = (name: string) => ({ service: { name, port: { name: 'http' } } });

function ingress(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default' },
    spec: { ingressClassName: 'legate', ...spec },
  });
}

async function hit(
  base: string,
  path: string,
  host = 'example.com',
): Promise<{ status: number; name?: string; url?: string }> {
  const res = await request(`${base}${path}`, { headers: { host } });
  const text = await res.body.text();
  if (res.statusCode !== 200) return { status: res.statusCode };
  const body = JSON.parse(text) as { name: string; url: string };
  return { status: res.statusCode, name: body.name, url: body.url };
}

test('Ingress v1: path types, wildcard host, defaultBackend, named ports, class', async (t) => {
  const ups = {
    exact: await startUpstream('exact'),
    prefix: await startUpstream('prefix'),
    wild: await startUpstream('wild'),
    fallback: await startUpstream('fallback'),
    other: await startUpstream('other'),
  };
  const files = {
    'ingress.yaml': docs(
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'legate' },
        spec: { controller: 'legate.dev/ingress-controller' },
      }),
      ...serviceFor('exact', ups.exact),
      ...serviceFor('prefix', ups.prefix),
      ...serviceFor('wild', ups.wild),
      ...serviceFor('fallback', ups.fallback),
      ...serviceFor('other', ups.other),
      ingress('paths', {
        defaultBackend: backend('fallback'),
        rules: [
          {
            http: {
              paths: [
                { path: '/aaa', pathType: 'Exact', backend: backend('exact') },
                { path: '/aaa/bbb/', pathType: 'Prefix', backend: backend('prefix') },
              ],
            },
          },
          {
            host: '*.foo.com',
            http: { paths: [{ path: '/w', pathType: 'Prefix', backend: backend('wild') }] },
          },
        ],
      }),
      // Another controller's Ingress: must not be served, even for a path nothing else claims.
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'nginx-one', namespace: 'default' },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'nginx.example.com',
              http: { paths: [{ path: '/n', pathType: 'Prefix', backend: backend('other') }] },
            },
          ],
        },
      }),
    ),
  };
  const gw = await startTestGateway(files);
  t.after(async () => {
    await gw.close();
    for (const u of Object.values(ups)) await u.close();
  });
  await gw.waitForIr((ir) => ir.routes.some((r) => r.sources.includes('Ingress/default/paths')));

  // Exact: the whole path, case-sensitive; `/aaa/` is not `/aaa` and falls to the default backend.
  assert.deepEqual(await hit(gw.url, '/aaa?x=1'), { status: 200, name: 'exact', url: '/aaa?x=1' });
  assert.equal((await hit(gw.url, '/aaa/')).name, 'fallback');
  assert.equal((await hit(gw.url, '/AAA')).name, 'fallback');

  // Prefix, element-wise; the trailing slash of the rule is ignored; the path goes up unchanged.
  assert.deepEqual(await hit(gw.url, '/aaa/bbb'), { status: 200, name: 'prefix', url: '/aaa/bbb' });
  assert.equal((await hit(gw.url, '/aaa/bbb/')).name, 'prefix');
  assert.deepEqual(await hit(gw.url, '/aaa/bbb/ccc/d'), {
    status: 200,
    name: 'prefix',
    url: '/aaa/bbb/ccc/d',
  });
  assert.equal((await hit(gw.url, '/aaa/bbbxyz')).name, 'fallback', '/aaa/bbb must not match /aaa/bbbxyz');

  // The wildcard host matches exactly one extra label, with or without a port, in any case.
  assert.equal((await hit(gw.url, '/w/x', 'bar.foo.com')).name, 'wild');
  assert.equal((await hit(gw.url, '/w/x', 'BAR.Foo.com:8080')).name, 'wild');
  assert.equal((await hit(gw.url, '/w/x', 'baz.bar.foo.com')).name, 'fallback');
  assert.equal((await hit(gw.url, '/w/x', 'foo.com')).name, 'fallback');

  // The other class's Ingress is not served; its status says why.
  assert.equal((await hit(gw.url, '/n', 'nginx.example.com')).name, 'fallback');
  const ir = gw.gateway.reconciler.lastIr!;
  const nginx = ir.statuses.find((s) => s.key === 'Ingress/default/nginx-one');
  assert.equal(nginx?.state, 'Ignored');
  assert.equal(nginx?.conditions[0]?.reason, 'IngressClassMismatch');
  assert.equal(ups.other.requests, 0);
});

test('Ingress v1: without a defaultBackend, /aaa does not match /aaaccc (404)', async (t) => {
  const up = await startUpstream('aaa');
  const gw = await startTestGateway({
    'ingress.yaml': docs(
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'legate', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller: 'getambassador.io/ingress-controller' },
      }),
      ...serviceFor('aaa', up),
      // Class-less: served through the default IngressClass (Emissary's controller string).
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'aaa', namespace: 'default' },
        spec: {
          rules: [{ http: { paths: [{ path: '/aaa', pathType: 'Prefix', backend: backend('aaa') }] } }],
        },
      }),
    ),
  });
  t.after(async () => {
    await gw.close();
    await up.close();
  });
  await gw.waitForIr((ir) => ir.routes.length > 0);
  assert.equal((await hit(gw.url, '/aaa')).name, 'aaa');
  assert.equal((await hit(gw.url, '/aaa/ccc')).name, 'aaa');
  assert.equal((await hit(gw.url, '/aaaccc')).status, 404);
  assert.equal(up.requests, 2);
});
