/**
 * The install artefacts in deploy/ against a real kube-apiserver (test/k8s/harness.ts): the
 * generated CRDs are accepted and established with both versions served; Mappings of both versions
 * are stored, and invalid ones refused by the schema; status is written through the subresource;
 * the RBAC grants the service account what Legate needs and nothing it must not have; the
 * IngressClass applies; the Deployment, PDB and Services pass server-side validation (dry run),
 * and the pod template passes the namespace's "restricted" Pod Security enforcement. Finally a
 * gateway runs with a token of the `legate` ServiceAccount, so with exactly deploy/rbac.yaml: it
 * becomes ready, routes a Mapping, writes its status and holds the Lease in its namespace.
 *
 * The manifests are sent as the exact JSON of the YAML files, with `fieldValidation=Strict` (an
 * unknown or misspelled field is an error, as with `kubectl apply`), not through client-node's
 * typed models: their serializer drops keys it has no model attribute for, including every
 * `x-kubernetes-*` extension of a CRD schema.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { findHelm, kNoHelm } from '../deploy/helm-binary.js';
import { routesTo, startK8sGateway, startUpstream, eventually as until } from './gateway-support.js';
import { type Cluster, eventually, startCluster } from './harness.js';

const root = join(import.meta.dirname, '..', '..');
const NS = 'apps';
const SA_USER = 'system:serviceaccount:legate:legate';
/** Legate's default Lease name for ambassador id "default" (src/bootstrap/settings.ts). */
const LEASE = 'legate-status-default';
const SA_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:legate', 'system:authenticated'];

let cluster: Cluster;
let kc: k8s.KubeConfig;
let agent: Agent;
let custom: k8s.CustomObjectsApi;

type Obj = k8s.KubernetesObject & Record<string, unknown>;

function manifests(rel: string): Obj[] {
  return parseAllDocuments(readFileSync(join(root, 'deploy', rel), 'utf8'), { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const isApiError = (code: number) => (err: unknown) => err instanceof k8s.ApiException && err.code === code;

/** Collection path per kind, for the kinds deploy/ holds (plus Pod for the Pod Security check). */
const kPaths: Record<string, { base: string; namespaced: boolean }> = {
  CustomResourceDefinition: {
    base: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    namespaced: false,
  },
  Namespace: { base: '/api/v1/namespaces', namespaced: false },
  ServiceAccount: { base: '/api/v1/serviceaccounts', namespaced: true },
  Service: { base: '/api/v1/services', namespaced: true },
  Pod: { base: '/api/v1/pods', namespaced: true },
  ClusterRole: { base: '/apis/rbac.authorization.k8s.io/v1/clusterroles', namespaced: false },
  ClusterRoleBinding: { base: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', namespaced: false },
  Role: { base: '/apis/rbac.authorization.k8s.io/v1/roles', namespaced: true },
  RoleBinding: { base: '/apis/rbac.authorization.k8s.io/v1/rolebindings', namespaced: true },
  IngressClass: { base: '/apis/networking.k8s.io/v1/ingressclasses', namespaced: false },
  Deployment: { base: '/apis/apps/v1/deployments', namespaced: true },
  PodDisruptionBudget: { base: '/apis/policy/v1/poddisruptionbudgets', namespaced: true },
};

class CreateError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 2000)}`);
  }
}

/** POSTs `obj` exactly as written; `dryRun` validates and admits without storing. */
async function create(obj: Obj, dryRun = false): Promise<Record<string, unknown>> {
  const where = kPaths[obj.kind!];
  assert.ok(where, `no path for kind ${obj.kind}`);
  let path = where.base;
  if (where.namespaced) {
    const parts = path.split('/');
    const ns = encodeURIComponent(obj.metadata?.namespace ?? 'default');
    parts.splice(parts.length - 1, 0, 'namespaces', ns);
    path = parts.join('/');
  }
  const query = `?fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  const res = await request(`${cluster.server}${path}${query}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { authorization: `Bearer ${cluster.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(obj),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new CreateError(res.statusCode, text);
  return JSON.parse(text) as Record<string, unknown>;
}

before(async () => {
  cluster = await startCluster();
  kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  agent = new Agent({ connect: { ca: cluster.caData } });
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  // Install order of deploy/README.md.
  for (const file of ['crds.yaml', 'namespace.yaml', 'rbac.yaml', 'ingressclass.yaml']) {
    for (const obj of manifests(file)) await create(obj);
  }
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
});

after(async () => {
  await agent?.close();
  await cluster?.close();
});

const mappings = (version: string) => ({
  group: 'getambassador.io',
  version,
  namespace: NS,
  plural: 'mappings',
});

test('both CRDs are established, serving v3alpha1 (storage) and v2', async () => {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const name of ['mappings.getambassador.io', 'modules.getambassador.io']) {
    const crd = await eventually(`${name} established`, async () => {
      const c = await ext.readCustomResourceDefinition({ name });
      const established = c.status?.conditions?.find((x) => x.type === 'Established');
      if (established?.status !== 'True') throw new Error(JSON.stringify(c.status?.conditions));
      return c;
    });
    assert.deepEqual(crd.status?.storedVersions, ['v3alpha1']);
    assert.deepEqual(
      crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
      [
        ['v3alpha1', true, true],
        ['v2', true, false],
      ],
    );
    const nonStructural = crd.status?.conditions?.find((x) => x.type === 'NonStructuralSchema');
    assert.equal(nonStructural, undefined, JSON.stringify(nonStructural));
  }
  // Served: the discovery document lists the kinds in both versions.
  for (const version of ['v3alpha1', 'v2']) {
    const list = await eventually(`getambassador.io/${version} served`, () =>
      custom.listNamespacedCustomObject(mappings(version)),
    );
    assert.deepEqual(list.items, []);
  }
});

test('a v3alpha1 Mapping is stored as written; invalid ones are refused by the schema', async () => {
  const spec = {
    ambassador_id: ['default'],
    hostname: '*.example.com',
    prefix: '/api/',
    service: 'api.apps:8080',
    weight: 50,
    headers: { 'x-canary': 'yes' },
    add_request_headers: { 'x-from': { value: 'legate', append: false } },
    retry_policy: { retry_on: '5xx', num_retries: 2 },
    redirect_response_code: 308,
    labels: { ambassador: [{ request_label_group: [{ source_cluster: { key: 'source_cluster' } }] }] },
    health_checks: [{ unhealthy_threshold: 2, health_check: { http: { path: '/healthz' } } }],
  };
  await eventually('create v3alpha1 Mapping', () =>
    custom.createNamespacedCustomObject({
      ...mappings('v3alpha1'),
      body: { apiVersion: 'getambassador.io/v3alpha1', kind: 'Mapping', metadata: { name: 'v3' }, spec },
    }),
  );
  const back = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'v3' })) as Obj;
  assert.deepEqual(back['spec'], spec);

  const bad: Array<[string, Record<string, unknown>]> = [
    ['weight above 100', { prefix: '/', service: 'a', weight: 200 }],
    ['missing service', { prefix: '/' }],
    ['empty prefix', { prefix: '', service: 'a' }],
    ['ambassador_id as a string', { prefix: '/', service: 'a', ambassador_id: 'blue' }],
    ['tls: true (v2 only)', { prefix: '/', service: 'a', tls: true }],
    ['unknown redirect code', { prefix: '/', service: 'a', redirect_response_code: 304 }],
  ];
  for (const [what, badSpec] of bad) {
    await assert.rejects(
      custom.createNamespacedCustomObject({
        ...mappings('v3alpha1'),
        body: {
          apiVersion: 'getambassador.io/v3alpha1',
          kind: 'Mapping',
          metadata: { name: 'bad' },
          spec: badSpec,
        },
      }),
      isApiError(422),
      what,
    );
  }
});

test('a v2 Mapping keeps its union forms; read as v3alpha1 it is the same body (conversion None)', async () => {
  const spec = {
    ambassador_id: 'blue',
    host: 'api.example.com',
    prefix: '/v2/',
    service: 'api.apps',
    tls: true,
    headers: { 'x-present': true },
    remove_request_headers: 'x-drop',
    add_request_headers: { 'x-bare': 'value' },
    cors: { origins: 'https://a.example,https://b.example' },
  };
  await custom.createNamespacedCustomObject({
    ...mappings('v2'),
    body: { apiVersion: 'getambassador.io/v2', kind: 'Mapping', metadata: { name: 'old' }, spec },
  });
  const asV2 = (await custom.getNamespacedCustomObject({ ...mappings('v2'), name: 'old' })) as Obj;
  assert.equal(asV2['apiVersion'], 'getambassador.io/v2');
  assert.deepEqual(asV2['spec'], spec);
  // No webhook: the v3alpha1 endpoint serves the stored body unchanged, with only apiVersion
  // rewritten. Legate's resources stage therefore meets v2 forms under a v3alpha1 apiVersion.
  const asV3 = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'old' })) as Obj;
  assert.equal(asV3['apiVersion'], 'getambassador.io/v3alpha1');
  assert.deepEqual(asV3['spec'], spec);

  await assert.rejects(
    custom.createNamespacedCustomObject({
      ...mappings('v2'),
      body: {
        apiVersion: 'getambassador.io/v2',
        kind: 'Mapping',
        metadata: { name: 'bad-v2' },
        spec: { prefix: '/', service: 'a', timeout_ms: 'soon' },
      },
    }),
    isApiError(422),
  );
});

test('status is written through the subresource only, and its shape is enforced', async () => {
  const status = {
    state: 'Inactive',
    reason: 'ServiceNotFound',
    observedGeneration: 1,
    conditions: [
      {
        type: 'Accepted',
        status: 'False',
        reason: 'ServiceNotFound',
        message: 'service api.apps:8080 has no EndpointSlices',
        observedGeneration: 1,
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ],
  };
  const current = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'v3' })) as Obj;
  await custom.replaceNamespacedCustomObjectStatus({
    ...mappings('v3alpha1'),
    name: 'v3',
    body: { ...current, status },
  });
  const back = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'v3' })) as Obj;
  assert.deepEqual(back['status'], status);

  // A status change through the main endpoint is ignored (the subresource owns it).
  await custom.replaceNamespacedCustomObject({
    ...mappings('v3alpha1'),
    name: 'v3',
    body: { ...back, status: { ...status, state: 'Running' } },
  });
  const after1 = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'v3' })) as Obj;
  assert.equal((after1['status'] as Record<string, unknown>)['state'], 'Inactive');

  await assert.rejects(
    custom.replaceNamespacedCustomObjectStatus({
      ...mappings('v3alpha1'),
      name: 'v3',
      body: { ...after1, status: { state: 'Fine' } },
    }),
    isApiError(422),
  );
});

test('a Module keeps config keys Legate does not type; typed ones are checked', async () => {
  const modules = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'modules' };
  const spec = {
    config: { xff_num_trusted_hops: 1, lua_scripts: 'return', diagnostics: { enabled: false } },
  };
  await custom.createNamespacedCustomObject({
    ...modules,
    body: { apiVersion: 'getambassador.io/v3alpha1', kind: 'Module', metadata: { name: 'ambassador' }, spec },
  });
  const back = (await custom.getNamespacedCustomObject({ ...modules, name: 'ambassador' })) as Obj;
  assert.deepEqual(back['spec'], spec);
  await assert.rejects(
    custom.createNamespacedCustomObject({
      ...modules,
      body: {
        apiVersion: 'getambassador.io/v3alpha1',
        kind: 'Module',
        metadata: { name: 'bad' },
        spec: { config: { xff_num_trusted_hops: -1 } },
      },
    }),
    isApiError(422),
  );
});

test('RBAC: the service account may do what Legate needs and nothing else', async () => {
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const can = async (attrs: k8s.V1ResourceAttributes): Promise<boolean> => {
    const review = await authz.createSubjectAccessReview({
      body: { spec: { user: SA_USER, groups: SA_GROUPS, resourceAttributes: attrs } },
    });
    return review.status?.allowed === true;
  };
  const allowed: k8s.V1ResourceAttributes[] = [
    { verb: 'watch', resource: 'services', namespace: NS },
    { verb: 'list', resource: 'services' },
    { verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices' },
    { verb: 'list', group: 'networking.k8s.io', resource: 'ingresses' },
    { verb: 'watch', group: 'networking.k8s.io', resource: 'ingressclasses' },
    {
      verb: 'patch',
      group: 'networking.k8s.io',
      resource: 'ingresses',
      subresource: 'status',
      namespace: NS,
    },
    { verb: 'list', group: 'getambassador.io', resource: 'mappings' },
    { verb: 'watch', group: 'getambassador.io', resource: 'modules' },
    { verb: 'update', group: 'getambassador.io', resource: 'mappings', subresource: 'status', namespace: NS },
    { verb: 'update', group: 'getambassador.io', resource: 'modules', subresource: 'status', namespace: NS },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate' },
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate', name: LEASE },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate', name: LEASE },
  ];
  const denied: k8s.V1ResourceAttributes[] = [
    { verb: 'update', group: 'getambassador.io', resource: 'mappings', namespace: NS },
    { verb: 'delete', group: 'getambassador.io', resource: 'mappings', namespace: NS },
    { verb: 'list', group: 'getambassador.io', resource: 'hosts' },
    { verb: 'update', group: 'getambassador.io', resource: 'modules', namespace: NS },
    { verb: 'list', resource: 'secrets' },
    { verb: 'create', resource: 'events', namespace: NS },
    { verb: 'update', group: 'networking.k8s.io', resource: 'ingresses', namespace: NS },
    { verb: 'create', resource: 'secrets', namespace: NS },
    { verb: 'update', resource: 'services', namespace: NS },
    { verb: 'list', resource: 'configmaps' },
    { verb: 'list', resource: 'pods' },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
    { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate' },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate', name: 'other' },
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: 'legate' },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  ];
  for (const a of allowed) assert.equal(await can(a), true, `should allow ${JSON.stringify(a)}`);
  for (const a of denied) assert.equal(await can(a), false, `should deny ${JSON.stringify(a)}`);
});

test('the IngressClass is Legate-owned and not the default', async () => {
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const cls = await net.readIngressClass({ name: 'legate' });
  assert.equal(cls.spec?.controller, 'legate.dev/ingress-controller');
  assert.equal(cls.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'false');
});

test('legate.yaml passes server-side validation, and its pod meets the restricted Pod Security level', async () => {
  const workload = manifests('legate.yaml');
  assert.deepEqual(workload.map((o) => o.kind).sort(), [
    'Deployment',
    'PodDisruptionBudget',
    'Service',
    'Service',
  ]);
  for (const obj of workload) await create(obj, true);

  // Workload objects only get Pod Security warnings; a Pod is enforced. Dry-run the template as a Pod.
  const deployment = workload.find((o) => o.kind === 'Deployment') as unknown as k8s.V1Deployment;
  const pod: k8s.V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'legate-pss-check',
      namespace: 'legate',
      labels: deployment.spec!.template.metadata!.labels,
    },
    spec: deployment.spec!.template.spec!,
  };
  await create(pod as Obj, true);
  // The same pod with one weakened setting is refused: the enforcement is real.
  const weakened = structuredClone(pod);
  weakened.spec!.containers[0]!.securityContext = { allowPrivilegeEscalation: true };
  await assert.rejects(create(weakened as Obj, true), (err: unknown) => {
    assert.ok(err instanceof CreateError);
    assert.equal(err.status, 403);
    assert.match(String(JSON.parse(err.body).message), /violates PodSecurity "restricted/);
    return true;
  });
});

const helm = findHelm();

test('the Helm chart renders objects the API server accepts (dry run, strict fields)', {
  skip: helm ? false : kNoHelm,
}, async () => {
  const chart = join(root, 'deploy', 'helm', 'legate');
  const text = execFileSync(
    helm!,
    [
      'template',
      'release',
      chart,
      '-n',
      'legate',
      '--kube-version',
      '1.31.0',
      '--set',
      'rbac.secrets=true',
      '--set',
      'ingressClass.name=legate-helm',
    ],
    { encoding: 'utf8' },
  );
  const objs = parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
  assert.ok(objs.length >= 10, `${objs.length} objects rendered`);
  for (const obj of objs) {
    // Cluster-scoped objects rendered without a namespace; namespaced ones carry `legate`.
    await create(obj, true);
  }
});

test('a gateway running as the legate ServiceAccount (deploy/rbac.yaml only) serves and writes status', {
  timeout: 90_000,
}, async (t) => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const issued = await core.createNamespacedServiceAccountToken({
    name: 'legate',
    namespace: 'legate',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = issued.status?.token;
  assert.ok(token, 'no ServiceAccount token issued');
  const kubeconfigPath = join(cluster.dir, 'legate-sa.kubeconfig');
  writeFileSync(kubeconfigPath, cluster.kubeconfigFor(token, 'legate-sa'));

  const upstream = await startUpstream('blue');
  t.after(() => upstream.close());
  // The Deployment's defaults: Lease legate-status-<ambassador id> in the gateway's own namespace.
  const gw = await startK8sGateway(
    kubeconfigPath,
    { leaseNamespace: 'legate', leaseName: LEASE, identity: 'pod-a' },
    { namespace: 'legate' },
  );
  t.after(() => gw.close());
  await until('ready under the ServiceAccount', () => gw.gateway.readiness().ready, 30_000);

  await custom.createNamespacedCustomObject({
    ...mappings('v3alpha1'),
    body: {
      apiVersion: 'getambassador.io/v3alpha1',
      kind: 'Mapping',
      metadata: { name: 'as-sa' },
      spec: { hostname: '*', prefix: '/sa/', service: `127.0.0.1:${upstream.port}` },
    },
  });
  await until('routes /sa/', () => routesTo(gw.url, '/sa/', 'blue'));
  await until('status written', async () => {
    const m = (await custom.getNamespacedCustomObject({ ...mappings('v3alpha1'), name: 'as-sa' })) as Obj;
    return (m['status'] as { state?: string } | undefined)?.state === 'Running';
  });
  // Module status too (the RBAC grants modules/status): the `ambassador` Module in NS, created here
  // unless an earlier test left one.
  const modules = { group: 'getambassador.io', version: 'v3alpha1', namespace: NS, plural: 'modules' };
  await custom
    .createNamespacedCustomObject({
      ...modules,
      body: {
        apiVersion: 'getambassador.io/v3alpha1',
        kind: 'Module',
        metadata: { name: 'ambassador' },
        spec: {},
      },
    })
    .catch((err: unknown) => {
      if (!isApiError(409)(err)) throw err;
    });
  await until('Module status written', async () => {
    const m = (await custom.getNamespacedCustomObject({ ...modules, name: 'ambassador' })) as Obj;
    const state = (m['status'] as { state?: string } | undefined)?.state;
    return state === 'Running' || state === 'Inactive';
  });
  const lease = await kc
    .makeApiClient(k8s.CoordinationV1Api)
    .readNamespacedLease({ name: LEASE, namespace: 'legate' });
  assert.equal(lease.spec?.holderIdentity, 'pod-a');
});
