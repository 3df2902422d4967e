/**
 * The Kubernetes source end to end against a real kube-apiserver + etcd (harness.ts): objects
 * created, edited and deleted through the API become live routes to real upstreams; endpoints
 * follow scaling; the gateway rides out an API server restart, a watch cut (changes made meanwhile,
 * with and without an etcd compaction forcing 410), RBAC denial of one kind; status is written by
 * the Lease holder only.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { ReflectorState } from '../../src/sources/kubernetes/reflector.js';
import {
  adminApi,
  emissaryShapedCrd,
  eventually,
  get,
  routesTo,
  sleep,
  startK8sGateway,
  startNetnsUpstream,
  startRelay,
  type Upstream,
  waitForCrd,
} from './gateway-support.js';
import { type Cluster, startCluster } from './harness.js';
import { createTestNetns, netnsUnavailable, type TestNetns } from './netns.js';

const NS = 'demo';
/** Every test here routes to blue or green, which sit behind EndpointSlices: in a network namespace. */
const noNetns = netnsUnavailable();
const needsNetns = { skip: noNetns ? `needs a test network namespace: ${noNetns}` : false };
let net: TestNetns | undefined;
let cluster: Cluster;
let api: ReturnType<typeof adminApi>;
const upstreams: Upstream[] = [];
let blue: Upstream;
let green: Upstream;

before(async () => {
  if (noNetns) return;
  cluster = await startCluster();
  api = adminApi(cluster);
  await api.core.createNamespace({ body: { metadata: { name: NS } } });
  for (const kind of ['Mapping', 'Module'] as const) {
    await api.ext.createCustomResourceDefinition({ body: emissaryShapedCrd(kind) });
    await waitForCrd(api, `${kind.toLowerCase()}s.getambassador.io`);
  }
  net = createTestNetns();
  blue = await startNetnsUpstream(net, 'blue');
  green = await startNetnsUpstream(net, 'green');
  upstreams.push(blue, green);
});

after(async () => {
  for (const u of upstreams) await u.close();
  await net?.close();
  await cluster?.close();
});

function annotatedService(name: string, prefix: string, target: string): k8s.V1Service {
  return {
    metadata: {
      name,
      namespace: NS,
      annotations: {
        'getambassador.io/config': [
          'apiVersion: getambassador.io/v3alpha1',
          'kind: Mapping',
          `name: ${name}-mapping`,
          'hostname: "*"',
          `prefix: ${prefix}`,
          `service: ${target}.${NS}:80`,
        ].join('\n'),
      },
    },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** A Service `name` with one EndpointSlice per upstream (each slice carries its own port). */
async function backend(name: string, ups: Upstream[]): Promise<void> {
  try {
    await api.core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name, namespace: NS },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  for (const u of ups) await slice(name, u);
}

async function slice(service: string, u: Upstream): Promise<void> {
  await api.discovery.createNamespacedEndpointSlice({
    namespace: NS,
    body: {
      metadata: {
        name: `${service}-${u.name}`,
        namespace: NS,
        labels: { 'kubernetes.io/service-name': service },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [u.address], conditions: { ready: true } }],
      ports: [{ name: 'http', port: u.port, protocol: 'TCP' }],
    },
  });
}

function mapping(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Mapping',
    metadata: { name, namespace: NS },
    spec: { hostname: '*', ...spec },
  };
}

async function readMapping(name: string): Promise<Record<string, unknown>> {
  return (await api.custom.getNamespacedCustomObject({
    group: 'getambassador.io',
    version: 'v3alpha1',
    namespace: NS,
    plural: 'mappings',
    name,
  })) as Record<string, unknown>;
}

test('Service annotation: create → routed, edit → changed, delete → gone', {
  ...needsNetns,
  timeout: 60_000,
}, async (t) => {
  await backend('svc-blue', [blue]);
  await backend('svc-green', [green]);
  const gw = await startK8sGateway(cluster.kubeconfigPath);
  t.after(() => gw.close());
  assert.equal(gw.gateway.readiness().ready, true);

  await api.core.createNamespacedService({
    namespace: NS,
    body: annotatedService('anno', '/anno/', 'svc-blue'),
  });
  await eventually('annotation route to blue', () => routesTo(gw.url, '/anno/x', 'blue'));

  const svc = await api.core.readNamespacedService({ name: 'anno', namespace: NS });
  svc.metadata!.annotations = annotatedService('anno', '/anno/', 'svc-green').metadata!.annotations!;
  await api.core.replaceNamespacedService({ name: 'anno', namespace: NS, body: svc });
  await eventually('annotation route to green', () => routesTo(gw.url, '/anno/x', 'green'));

  await api.core.deleteNamespacedService({ name: 'anno', namespace: NS });
  await eventually('annotation route gone', async () => (await get(`${gw.url}/anno/x`)).status === 404);
});

test('Mapping CRD: create → routed with status Running, edit → changed, invalid → Inactive, delete → gone', {
  ...needsNetns,
  timeout: 60_000,
}, async (t) => {
  const gw = await startK8sGateway(cluster.kubeconfigPath);
  t.after(() => gw.close());
  const crd = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'mappings' };
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('m1', { prefix: '/m1/', service: `svc-blue.${NS}:80` }),
  });
  await eventually('Mapping route to blue', () => routesTo(gw.url, '/m1/a', 'blue'));
  await eventually('status Running', async () => {
    const m = await readMapping('m1');
    return (m['status'] as { state?: string } | undefined)?.state === 'Running';
  });

  const m1 = await readMapping('m1');
  (m1['spec'] as Record<string, unknown>)['service'] = `svc-green.${NS}:80`;
  await api.custom.replaceNamespacedCustomObject({ ...crd, name: 'm1', body: m1 });
  await eventually('Mapping route to green', () => routesTo(gw.url, '/m1/a', 'green'));

  // An invalid Mapping: rejected, reported in its status, and the others keep serving.
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('bad', { prefix: '/bad/', service: `svc-blue.${NS}:80`, weight: 250 }),
  });
  await eventually('status Inactive with a reason', async () => {
    const st = (await readMapping('bad'))['status'] as { state?: string; reason?: string } | undefined;
    return st?.state === 'Inactive' && /weight/.test(st.reason ?? '');
  });
  assert.equal((await get(`${gw.url}/bad/`)).status, 404);
  assert.ok(await routesTo(gw.url, '/m1/a', 'green'));

  // Status writes settle: no write loop (this CRD prunes observedGeneration, like Emissary's).
  const writer = gw.gateway.kubernetes!.writer!;
  await sleep(500);
  await writer.flush();
  const writes = writer.stats.writes;
  await sleep(1000);
  assert.equal(writer.stats.writes, writes, 'status writes stop once statuses are written');

  await api.custom.deleteNamespacedCustomObject({ ...crd, name: 'm1' });
  await eventually('Mapping route gone', async () => (await get(`${gw.url}/m1/a`)).status === 404);
  await api.custom.deleteNamespacedCustomObject({ ...crd, name: 'bad' });
});

test('endpoints scale: traffic follows added and removed EndpointSlices within a second', {
  ...needsNetns,
  timeout: 60_000,
}, async (t) => {
  const gw = await startK8sGateway(cluster.kubeconfigPath);
  t.after(() => gw.close());
  await backend('scaled', [blue]);
  await api.custom.createNamespacedCustomObject({
    group: 'getambassador.io',
    version: 'v3alpha1',
    namespace: NS,
    plural: 'mappings',
    body: mapping('scaled', { prefix: '/scaled/', service: `scaled.${NS}:80` }),
  });
  await eventually('scaled route', () => routesTo(gw.url, '/scaled/', 'blue'));

  await slice('scaled', green);
  const upMs = await eventually(
    'traffic reaches both endpoints',
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await get(`${gw.url}/scaled/`)).body.split(' ')[0]!);
      return seen.has('blue') && seen.has('green');
    },
    5_000,
  );
  assert.ok(upMs < 1000, `scale-up took ${upMs.toFixed(0)} ms`);

  await api.discovery.deleteNamespacedEndpointSlice({ name: 'scaled-blue', namespace: NS });
  const downMs = await eventually(
    'traffic only to green',
    async () => {
      for (let i = 0; i < 6; i++) if (!(await routesTo(gw.url, '/scaled/', 'green'))) return false;
      return true;
    },
    5_000,
  );
  assert.ok(downMs < 1000, `scale-down took ${downMs.toFixed(0)} ms`);
  // The answers came from the upstream processes themselves: their own counts move, blue's not.
  const [blueBefore, greenBefore] = [await blue.hits(), await green.hits()];
  for (let i = 0; i < 6; i++) assert.ok(await routesTo(gw.url, '/scaled/', 'green'));
  assert.equal(await green.hits(), greenBefore + 6);
  assert.equal(await blue.hits(), blueBefore);
});

test('API server restart: the last configuration keeps serving, the watch resumes', {
  ...needsNetns,
  timeout: 120_000,
}, async (t) => {
  const gw = await startK8sGateway(cluster.kubeconfigPath);
  t.after(() => gw.close());
  const crd = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'mappings' };
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('r1', { prefix: '/r1/', service: `svc-blue.${NS}:80` }),
  });
  await eventually('r1 routed', () => routesTo(gw.url, '/r1/', 'blue'));

  await cluster.stopApiserver();
  await sleep(500);
  assert.ok(await routesTo(gw.url, '/r1/', 'blue'), 'serves while the API server is down');
  const source = gw.gateway.kubernetes!.source;
  assert.ok(source.health().some((h) => h.state === ReflectorState.Retrying));
  assert.equal(gw.gateway.readiness().ready, true, 'still ready: the last good configuration is live');

  await cluster.startApiserver();
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('r2', { prefix: '/r2/', service: `svc-green.${NS}:80` }),
  });
  await eventually('r2 routed after the restart', () => routesTo(gw.url, '/r2/', 'green'), 60_000);
  assert.ok(await routesTo(gw.url, '/r1/', 'blue'));
});

test('changes made while the watch is cut are picked up: plain resume, and 410 after a compaction', {
  ...needsNetns,
  timeout: 90_000,
}, async (t) => {
  const relay = await startRelay(cluster, cluster.kubeconfig, cluster.dir);
  t.after(() => relay.close());
  const gw = await startK8sGateway(relay.kubeconfigPath);
  t.after(() => gw.close());
  const crd = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'mappings' };
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('c1', { prefix: '/c1/', service: `svc-blue.${NS}:80` }),
  });
  await eventually('c1 routed', () => routesTo(gw.url, '/c1/', 'blue'));
  const mappings = () => gw.gateway.kubernetes!.source.reflectors.find((r) => r.kind.kind === 'Mapping')!;

  // 1. Cut, change, restore: the watch resumes from its resourceVersion and sees the change.
  await relay.cut();
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('c2', { prefix: '/c2/', service: `svc-green.${NS}:80` }),
  });
  await sleep(300);
  assert.equal((await get(`${gw.url}/c2/`)).status, 404, 'not visible while cut');
  relay.restore();
  await eventually('c2 routed after reconnect', () => routesTo(gw.url, '/c2/', 'green'), 30_000);

  // 2. Cut, change, compact, restore: the old resourceVersion is gone (410), the relist has it all.
  const relistsBefore = mappings().stats.relists410;
  await relay.cut();
  const c1 = await readMapping('c1');
  (c1['spec'] as Record<string, unknown>)['service'] = `svc-green.${NS}:80`;
  await api.custom.replaceNamespacedCustomObject({ ...crd, name: 'c1', body: c1 });
  await api.custom.deleteNamespacedCustomObject({ ...crd, name: 'c2' });
  await cluster.compact();
  relay.restore();
  await eventually('c1 moved to green after the relist', () => routesTo(gw.url, '/c1/', 'green'), 30_000);
  await eventually('c2 gone after the relist', async () => (await get(`${gw.url}/c2/`)).status === 404);
  assert.ok(mappings().stats.relists410 > relistsBefore, 'the reflector relisted on 410');
});

test('RBAC: a kind the user may not list is a clear error for that kind; the others serve', {
  ...needsNetns,
  timeout: 60_000,
}, async (t) => {
  const role = 'legate-no-ingress';
  await api.rbac.createClusterRole({
    body: {
      metadata: { name: role },
      rules: [
        { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingressclasses'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['getambassador.io'],
          resources: ['mappings', 'modules'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
  });
  await api.rbac.createClusterRoleBinding({
    body: {
      metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'User', name: cluster.legateUser, apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  t.after(async () => {
    await api.rbac.deleteClusterRoleBinding({ name: role });
    await api.rbac.deleteClusterRole({ name: role });
  });
  const gw = await startK8sGateway(cluster.legateKubeconfigPath, { updateStatus: false });
  t.after(() => gw.close());
  const ingress = gw.gateway.kubernetes!.source.health().find((h) => h.kind === 'Ingress')!;
  assert.equal(ingress.state, ReflectorState.Forbidden);
  assert.match(ingress.message, /ingresses.*forbidden/i);
  const problem = gw.gateway.reconciler.lastIr!.statuses.find((s) => /ingresses/.test(s.name));
  assert.ok(problem, 'the forbidden kind shows up among the statuses (/diag)');
  assert.match(problem.conditions[0]!.message, /forbidden/i);

  await api.custom.createNamespacedCustomObject({
    group: 'getambassador.io',
    version: 'v3alpha1',
    namespace: NS,
    plural: 'mappings',
    body: mapping('rbac', { prefix: '/rbac/', service: `svc-blue.${NS}:80` }),
  });
  await eventually('the permitted kinds still route', () => routesTo(gw.url, '/rbac/', 'blue'));
});

test('status: only the Lease holder writes; the other replica takes over when it leaves', {
  ...needsNetns,
  timeout: 90_000,
}, async (t) => {
  const lease = { leaseNamespace: 'default', leaseName: 'legate-status-ha' };
  const a = await startK8sGateway(cluster.kubeconfigPath, { ...lease, identity: 'replica-a' });
  let aClosed = false;
  t.after(() => (aClosed ? undefined : a.close()));
  await eventually('replica a leads', () => a.gateway.kubernetes!.leader!.isLeader);
  const b = await startK8sGateway(cluster.kubeconfigPath, { ...lease, identity: 'replica-b' });
  t.after(() => b.close());
  const crd = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'mappings' };
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('ha1', { prefix: '/ha1/', service: `svc-blue.${NS}:80` }),
  });
  await eventually(
    'both route ha1',
    async () => (await routesTo(a.url, '/ha1/', 'blue')) && routesTo(b.url, '/ha1/', 'blue'),
  );
  await eventually(
    'ha1 status written',
    async () => ((await readMapping('ha1'))['status'] as { state?: string })?.state === 'Running',
  );
  await sleep(300);
  // The API server applies a PATCH before its reply reaches the writer: wait for the pass to end.
  await a.gateway.kubernetes!.writer!.flush();
  assert.equal(b.gateway.kubernetes!.leader!.isLeader, false);
  assert.equal(b.gateway.kubernetes!.writer!.stats.writes, 0, 'the non-leader never writes');
  assert.ok(a.gateway.kubernetes!.writer!.stats.writes > 0);
  const held = await api.coordination.readNamespacedLease({ name: lease.leaseName, namespace: 'default' });
  assert.equal(held.spec?.holderIdentity, 'replica-a');

  await a.close();
  aClosed = true;
  await eventually('replica b takes over', () => b.gateway.kubernetes!.leader!.isLeader, 10_000);
  await api.custom.createNamespacedCustomObject({
    ...crd,
    body: mapping('ha2', { prefix: '/ha2/', service: `svc-green.${NS}:80` }),
  });
  await eventually(
    'ha2 status written by b',
    async () => ((await readMapping('ha2'))['status'] as { state?: string })?.state === 'Running',
  );
  await b.gateway.kubernetes!.writer!.flush();
  assert.ok(b.gateway.kubernetes!.writer!.stats.writes > 0, 'b wrote ha2 status');
});

test('Ingress: served by class, create → routed with status.loadBalancer, edit → changed, delete → gone', {
  ...needsNetns,
  timeout: 60_000,
}, async (t) => {
  await api.networking.createIngressClass({
    body: { metadata: { name: 'legate' }, spec: { controller: 'getambassador.io/ingress-controller' } },
  });
  const gw = await startK8sGateway(cluster.kubeconfigPath, { publishAddress: '127.0.0.9' });
  t.after(() => gw.close());
  const ingress = (service: string): k8s.V1Ingress => ({
    metadata: { name: 'web', namespace: NS },
    spec: {
      ingressClassName: 'legate',
      rules: [
        {
          http: {
            paths: [
              {
                path: '/ing',
                pathType: 'Prefix',
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
  await api.networking.createNamespacedIngress({ namespace: NS, body: ingress('svc-blue') });
  await eventually('Ingress route to blue', () => routesTo(gw.url, '/ing/x', 'blue'));
  await eventually('Ingress status.loadBalancer', async () => {
    const ing = await api.networking.readNamespacedIngress({ name: 'web', namespace: NS });
    return ing.status?.loadBalancer?.ingress?.[0]?.ip === '127.0.0.9';
  });
  const live = await api.networking.readNamespacedIngress({ name: 'web', namespace: NS });
  live.spec = ingress('svc-green').spec!;
  await api.networking.replaceNamespacedIngress({ name: 'web', namespace: NS, body: live });
  await eventually('Ingress route to green', () => routesTo(gw.url, '/ing/x', 'green'));
  await api.networking.deleteNamespacedIngress({ name: 'web', namespace: NS });
  await eventually('Ingress route gone', async () => (await get(`${gw.url}/ing/x`)).status === 404);
});
