import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResourceStatus, SourceSnapshot } from '../resources/types.js';
import type { KubeObject } from '../sources/kubernetes/reflector.js';
import { FakeClient, statusError } from '../sources/kubernetes/test-support.js';
import { StatusWriter } from './status-writer.js';

function mapping(name: string, gen: number, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Mapping',
    metadata: { namespace: 'a', name, uid: `u-${name}`, generation: gen, resourceVersion: `${gen}00` },
    spec: { prefix: '/' },
    ...extra,
  };
}

function status(
  kind: string,
  name: string,
  state: ResourceStatus['state'],
  extra: Partial<ResourceStatus> = {},
): ResourceStatus {
  return {
    key: `${kind}/a/${name}`,
    kind,
    apiVersion: 'x',
    namespace: 'a',
    name,
    location: { source: 'kubernetes', file: `a/${name}` },
    state,
    conditions:
      state === 'Rejected'
        ? [{ reason: 'InvalidField', field: 'spec.weight', message: 'must be ≤ 100', critical: true }]
        : [],
    ...extra,
  };
}

function setup(live: KubeObject[], opts: { leader?: boolean } = {}) {
  const client = new FakeClient();
  const store = new Map(live.map((o) => [`${o['kind']}/${(o.metadata as { name: string }).name}`, o]));
  let leader = opts.leader ?? true;
  client.write = (req) => ({ metadata: { resourceVersion: `w-${req.path}` } });
  const writer = new StatusWriter({
    client,
    source: 'kubernetes',
    lookup: (kind, _ns, name) => store.get(`${kind}/${name}`),
    isLeader: () => leader,
    publishAddress: '10.0.0.7',
  });
  const sets = (objs: KubeObject[]): SourceSnapshot[] => [
    {
      source: 'kubernetes',
      objects: objs.map((o) => ({
        object: o,
        location: { source: 'kubernetes', file: `a/${(o.metadata as { name: string }).name}` },
      })),
      problems: [],
    },
  ];
  return { client, store, writer, sets, setLeader: (l: boolean) => (leader = l) };
}

test('Mappings get Emissary status through /status with observedGeneration and a resourceVersion precondition', async () => {
  const ok = mapping('ok', 2);
  const bad = mapping('bad', 1);
  const f = setup([ok, bad]);
  f.writer.update(
    [status('Mapping', 'ok', 'Accepted'), status('Mapping', 'bad', 'Rejected')],
    f.sets([ok, bad]),
  );
  await f.writer.flush();
  const patches = f.client.requests.filter((r) => r.method === 'PATCH');
  assert.equal(patches.length, 2);
  assert.equal(patches[0]!.path, '/apis/getambassador.io/v3alpha1/namespaces/a/mappings/ok/status');
  assert.equal(patches[0]!.contentType, 'application/merge-patch+json');
  assert.deepEqual(patches[0]!.body, {
    metadata: { resourceVersion: '200' },
    status: { state: 'Running', reason: null, observedGeneration: 2 },
  });
  assert.deepEqual(patches[1]!.body, {
    metadata: { resourceVersion: '100' },
    status: { state: 'Inactive', reason: 'spec.weight: must be ≤ 100', observedGeneration: 1 },
  });
});

test('no write when the live status already says it, when the build is stale, or for objects that are not ours', async () => {
  const same = mapping('same', 3, { status: { state: 'Running', observedGeneration: 3 } });
  const pruned = mapping('pruned', 3, { status: { state: 'Running' } }); // CRD without observedGeneration
  const built = mapping('stale', 1);
  const liveStale = mapping('stale', 2);
  const other = mapping('other', 1);
  const fromAnnotation = mapping('anno', 1);
  const f = setup([same, pruned, liveStale, other, fromAnnotation]);
  f.writer.update(
    [
      status('Mapping', 'same', 'Accepted'),
      status('Mapping', 'pruned', 'Accepted'),
      status('Mapping', 'stale', 'Accepted'),
      status('Mapping', 'other', 'Ignored'),
      status('Mapping', 'anno', 'Accepted', {
        location: { source: 'kubernetes', file: 'a/anno', parent: 'Service/a/svc' },
      }),
    ],
    f.sets([same, pruned, built, other]),
  );
  await f.writer.flush();
  assert.equal(f.client.requests.length, 0);
  assert.equal(f.writer.stats.unchanged, 2);
  assert.equal(f.writer.stats.stale, 1);
});

test('our own write is not repeated while the watch has not echoed it; a conflict is a skip', async () => {
  const m = mapping('m', 1);
  const f = setup([m]);
  const statuses = [status('Mapping', 'm', 'Accepted')];
  f.writer.update(statuses, f.sets([m]));
  await f.writer.flush();
  f.writer.update(statuses, f.sets([m]));
  await f.writer.flush();
  assert.equal(f.client.requests.length, 1);
  f.client.write = () => {
    throw statusError(409, 'Conflict');
  };
  f.writer.update([status('Mapping', 'm', 'Rejected')], f.sets([m]));
  await f.writer.flush();
  assert.equal(f.writer.stats.conflicts, 1);
});

test('only the leader writes; gaining leadership writes the latest statuses', async () => {
  const m = mapping('m', 1);
  const f = setup([m], { leader: false });
  f.writer.update([status('Mapping', 'm', 'Accepted')], f.sets([m]));
  await f.writer.flush();
  assert.equal(f.client.requests.length, 0);
  f.setLeader(true);
  f.writer.resync();
  await f.writer.flush();
  assert.equal(f.client.requests.length, 1);
});

test('served Ingresses get the publish address in status.loadBalancer, once', async () => {
  const ing: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: 'a', name: 'web', uid: 'u', generation: 1, resourceVersion: '9' },
    spec: {},
  };
  const done: KubeObject = {
    ...ing,
    metadata: { ...(ing.metadata as object), name: 'done' },
    status: { loadBalancer: { ingress: [{ ip: '10.0.0.7' }] } },
  };
  const f = setup([ing, done]);
  f.writer.update(
    [status('Ingress', 'web', 'Accepted'), status('Ingress', 'done', 'Accepted')],
    f.sets([ing, done]),
  );
  await f.writer.flush();
  assert.equal(f.client.requests.length, 1);
  assert.equal(f.client.requests[0]!.path, '/apis/networking.k8s.io/v1/namespaces/a/ingresses/web/status');
  assert.deepEqual((f.client.requests[0]!.body as { status: unknown }).status, {
    loadBalancer: { ingress: [{ ip: '10.0.0.7' }] },
  });
});
