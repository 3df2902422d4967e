/**
 * Proves that test/k8s runs against a real Kubernetes API server: the pinned version over verified
 * TLS, ClusterIP allocation, CRD schema validation, watches of core, discovery and custom resources,
 * RBAC denial and grant for the non-admin `legate` user, apiserver and etcd restarts that keep the
 * data and let a watch resume from its resource version, and a compaction that expires it (410).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { type Cluster, eventually, pinnedKubernetesVersion, startCluster } from './harness.js';

let cluster: Cluster;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
const NS = 'harness';

before(async () => {
  cluster = await startCluster();
  kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
});

after(async () => {
  await cluster?.close();
});

interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    metadata?: { name?: string; resourceVersion?: string };
  };
}

/** A raw client-node watch that records every event, for assertions on exactly what the server sent. */
async function openWatch(path: string, query: Record<string, string | number | boolean> = {}) {
  const events: WatchEvent[] = [];
  const waiters: Array<() => void> = [];
  let ended: { err: unknown } | undefined;
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  const controller = await new k8s.Watch(kc).watch(
    path,
    query,
    (type, object) => {
      events.push({ type, object });
      notify();
    },
    (err) => {
      ended = { err };
      notify();
    },
  );
  const until = async <T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => e.type))}`,
        );
      }
      await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(250)]);
    }
  };
  return {
    events,
    get ended() {
      return ended;
    },
    event: (type: string, name: string) =>
      until(`${type} ${name}`, () => events.find((e) => e.type === type && e.object.metadata?.name === name)),
    end: () => until('the end of the stream', () => ended),
    abort: () => controller.abort(),
  };
}

function service(name: string): k8s.V1Service {
  return {
    metadata: { name, annotations: { 'getambassador.io/config': `# ${name}` } },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

test('the apiserver reports the pinned version over TLS verified with its own CA', async () => {
  const info = await kc.makeApiClient(k8s.VersionApi).getCode();
  assert.equal(info.gitVersion, pinnedKubernetesVersion());
  assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(kc.getCurrentCluster()?.skipTLSVerify ?? false, false);
});

test('Services, EndpointSlices and a CRD are served, validated and watched', {
  timeout: 120_000,
}, async (t) => {
  const svcWatch = await openWatch(`/api/v1/namespaces/${NS}/services`);
  const sliceWatch = await openWatch(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`);
  t.after(() => {
    svcWatch.abort();
    sliceWatch.abort();
  });

  const svc = await core.createNamespacedService({ namespace: NS, body: service('echo') });
  // A ClusterIP allocated from --service-cluster-ip-range proves the real registry ran.
  assert.match(svc.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
  const added = await svcWatch.event('ADDED', 'echo');
  assert.equal(added.object.kind, 'Service');

  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const slice = (name: string, address: string): k8s.V1EndpointSlice => ({
    metadata: { name, labels: { 'kubernetes.io/service-name': 'echo' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  // Real validation: endpoint addresses may not be loopback, which a hand-written fake would accept.
  await assert.rejects(
    discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice('loopback', '127.0.0.1') }),
    (err: unknown) =>
      err instanceof k8s.ApiException && err.code === 422 && /loopback/.test(String(err.body)),
  );
  await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice('echo-1', '10.0.0.7') });
  await sliceWatch.event('ADDED', 'echo-1');
  await discovery.patchNamespacedEndpointSlice(
    {
      namespace: NS,
      name: 'echo-1',
      body: [{ op: 'replace', path: '/endpoints/0/conditions/ready', value: false }],
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  await sliceWatch.event('MODIFIED', 'echo-1');

  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['size'],
                    properties: { size: { type: 'integer', minimum: 1 } },
                  },
                  status: { type: 'object', properties: { ready: { type: 'boolean' } } },
                },
              },
            },
          },
        ],
      },
    },
  });
  await eventually('CRD established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'widgets.example.com' });
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    assert.equal(established?.status, 'True');
  });

  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const widgets = { group: 'example.com', version: 'v1', namespace: NS, plural: 'widgets' };
  const widgetWatch = await eventually('widget watch', () =>
    openWatch(`/apis/example.com/v1/namespaces/${NS}/widgets`),
  );
  t.after(() => widgetWatch.abort());
  await custom.createNamespacedCustomObject({
    ...widgets,
    body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
  });
  const w1 = await widgetWatch.event('ADDED', 'w1');
  assert.equal(w1.object.kind, 'Widget');

  // The structural schema is enforced by the server, not by us.
  await assert.rejects(
    custom.createNamespacedCustomObject({
      ...widgets,
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
    }),
    (err: unknown) => err instanceof k8s.ApiException && err.code === 422,
  );

  await custom.deleteNamespacedCustomObject({ ...widgets, name: 'w1' });
  await widgetWatch.event('DELETED', 'w1');
  assert.equal(
    widgetWatch.events.some((e) => e.object.metadata?.name === 'bad'),
    false,
    'a rejected object is never watched',
  );
});

test('RBAC denies the legate user until a ClusterRole and binding grant it', {
  timeout: 60_000,
}, async () => {
  const asLegate = new k8s.KubeConfig();
  asLegate.loadFromString(cluster.legateKubeconfig);
  const legateCore = asLegate.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedSecret({
    namespace: NS,
    body: { metadata: { name: 's1' }, stringData: { k: 'v' } },
  });

  await assert.rejects(
    legateCore.listNamespacedSecret({ namespace: NS }),
    (err: unknown) => err instanceof k8s.ApiException && err.code === 403,
  );

  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRole({
    body: {
      metadata: { name: 'legate-read-secrets' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'legate-read-secrets' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'legate-read-secrets' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: cluster.legateUser }],
    },
  });
  // The RBAC authorizer reads roles through informers, so the grant lands within moments.
  const list = await eventually('list secrets as legate', () =>
    legateCore.listNamespacedSecret({ namespace: NS }),
  );
  assert.deepEqual(
    list.items.map((s) => s.metadata?.name),
    ['s1'],
  );
  // Still least privilege: the grant covers reading secrets, nothing else.
  await assert.rejects(
    legateCore.deleteNamespacedSecret({ namespace: NS, name: 's1' }),
    (err: unknown) => err instanceof k8s.ApiException && err.code === 403,
  );
});

test('a watch resumes from its resource version across an apiserver restart', {
  timeout: 180_000,
}, async (t) => {
  await core.createNamespacedService({ namespace: NS, body: service('before-restart') });
  const rv = (await core.listNamespacedService({ namespace: NS })).metadata?.resourceVersion;
  assert.ok(rv);
  const first = await openWatch(`/api/v1/namespaces/${NS}/services`, { resourceVersion: rv });
  t.after(() => first.abort());

  await cluster.restartApiserver();
  // The server closed the stream; the client sees its end, as a reflector would.
  await first.end();
  assert.equal(first.events.filter((e) => e.type === 'ERROR').length, 0, 'a clean end, not an error event');

  // State lives in etcd, so it survived the restart; a change made before the watch is re-opened
  // is delivered when it resumes from the old resource version.
  await core.createNamespacedService({ namespace: NS, body: service('after-restart') });
  const resumed = await openWatch(`/api/v1/namespaces/${NS}/services`, { resourceVersion: rv });
  t.after(() => resumed.abort());
  await resumed.event('ADDED', 'after-restart');
  assert.equal(
    resumed.events.some((e) => e.object.metadata?.name === 'before-restart'),
    false,
    'no replay of objects older than the resource version',
  );
  const names = (await core.listNamespacedService({ namespace: NS })).items.map((s) => s.metadata?.name);
  assert.ok(names.includes('before-restart') && names.includes('after-restart'), String(names));
});

test('etcd can be stopped and started again with its data', { timeout: 150_000 }, async (t) => {
  const agent = new Agent({ connect: { ca: cluster.caData } });
  t.after(() => agent.close());
  const readyz = async (): Promise<number> => {
    const res = await request(`${cluster.server}/readyz`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${cluster.adminToken}` },
      headersTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode;
  };
  assert.equal(await readyz(), 200);
  await cluster.stopEtcd();
  await eventually(
    '/readyz fails while etcd is down',
    async () => assert.notEqual(await readyz(), 200),
    60_000,
  );
  await cluster.startEtcd();
  await eventually('/readyz recovers', async () => assert.equal(await readyz(), 200), 60_000);
  const ns = await core.readNamespace({ name: NS });
  assert.equal(ns.metadata?.name, NS);
});

test('a watch from a resource version older than an etcd compaction gets 410 Gone', {
  timeout: 60_000,
}, async (t) => {
  const list = await core.listNamespacedService({ namespace: NS });
  const oldRv = list.metadata?.resourceVersion;
  assert.ok(oldRv);
  await core.createNamespacedService({ namespace: NS, body: service('after-list') });

  // Before the compaction the old version is still resumable...
  const ok = await openWatch(`/api/v1/namespaces/${NS}/services`, { resourceVersion: oldRv });
  t.after(() => ok.abort());
  await ok.event('ADDED', 'after-list');

  const revision = await cluster.compact();
  assert.ok(revision > Number(oldRv));

  // ...after it, the server accepts the watch (200) and sends one ERROR event carrying a 410 Status,
  // then closes the stream: the signal a reflector turns into a relist.
  const gone = await openWatch(`/api/v1/namespaces/${NS}/services`, { resourceVersion: oldRv });
  t.after(() => gone.abort());
  await gone.end();
  assert.deepEqual(
    gone.events.map((e) => e.type),
    ['ERROR'],
  );
  const status = gone.events[0].object;
  assert.equal(status.kind, 'Status');
  assert.equal(status.code, 410);
  assert.equal(status.reason, 'Expired');
});

test('close() stops both processes and removes the cluster directory', async () => {
  const pids = ['etcd', 'kube-apiserver'].map((name) =>
    Number(readFileSync(join(cluster.dir, `${name}.pid`), 'utf8')),
  );
  for (const pid of pids) assert.doesNotThrow(() => process.kill(pid, 0), `pid ${pid} runs before close`);
  await cluster.close();
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone after close`);
  }
  assert.equal(existsSync(cluster.dir), false);
});
