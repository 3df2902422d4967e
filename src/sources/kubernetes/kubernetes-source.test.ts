import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SourceSnapshot } from '../../resources/types.js';
import { KubernetesSource } from './kubernetes-source.js';
import { FakeClient, FakeTimers, obj, settle, statusError } from './test-support.js';

test('publishes nothing until every kind has listed, then the whole set; changes are coalesced', async (t) => {
  const client = new FakeClient();
  const timers = new FakeTimers();
  let endpointsReady = false;
  client.list = (req) => {
    if (req.path === '/api/v1/services') return { items: [obj('a', 'svc', '1')], rv: '5' };
    if (req.path.includes('endpointslices')) {
      if (!endpointsReady) throw new Error('connect ECONNREFUSED');
      return { items: [obj('a', 'svc-abc', '2')], rv: '5' };
    }
    if (req.path.includes('ingressclasses')) return { items: [{ metadata: { name: 'legate' } }], rv: '5' };
    if (req.path.includes('getambassador.io')) throw statusError(404, 'NotFound');
    return { items: [], rv: '5' };
  };
  const src = new KubernetesSource({ client, timers, reflector: { backoff: { baseMs: 100, jitter: 0 } } });
  const published: SourceSnapshot[] = [];
  const ac = new AbortController();
  t.after(() => ac.abort());
  let started = false;
  void src
    .start(ac.signal, (s) => published.push(s))
    .then(() => {
      started = true;
    });
  await settle();
  assert.equal(published.length, 0, 'EndpointSlices have not listed: nothing may be published');
  assert.equal(started, false);
  endpointsReady = true;
  await timers.advance(100);
  assert.equal(published.length, 1);
  assert.equal(started, true);
  const first = published[0]!;
  assert.equal(first.source, 'kubernetes');
  assert.deepEqual(
    first.objects.map((o) => [(o.object as { kind: string }).kind, o.location.file]),
    [
      ['Service', 'a/svc'],
      ['EndpointSlice', 'a/svc-abc'],
      ['IngressClass', 'legate'],
    ],
  );
  assert.deepEqual(first.objects[0]!.location, { source: 'kubernetes', file: 'a/svc' });
  assert.equal((first.objects[2]!.object as { apiVersion: string }).apiVersion, 'networking.k8s.io/v1');
  // Both CRD kinds are reported, not fatal.
  assert.equal(first.problems.length, 2);
  assert.match(first.problems[0]!.message, /Mapping .* not installed/);

  const svcWatch = client.watches.find((w) => w.path === '/api/v1/services')!;
  svcWatch.push('ADDED', { apiVersion: 'v1', kind: 'Service', ...obj('a', 'two', '6') });
  svcWatch.push('ADDED', { apiVersion: 'v1', kind: 'Service', ...obj('a', 'three', '7') });
  await settle();
  assert.equal(published.length, 1, 'throttled: the initial publish was less than 50 ms ago');
  await timers.advance(50);
  assert.equal(published.length, 2, 'both events in one publish');
  // An isolated change long after the last publish goes out on the next tick.
  await timers.advance(1000);
  svcWatch.push('DELETED', { apiVersion: 'v1', kind: 'Service', ...obj('a', 'two', '8') });
  await timers.advance(0);
  assert.equal(published.length, 3);
  assert.equal(
    published[2]!.objects.filter((o) => (o.object as { kind: string }).kind === 'Service').length,
    2,
  );
  assert.equal(
    published[1]!.objects.filter((o) => (o.object as { kind: string }).kind === 'Service').length,
    3,
  );
  assert.equal(src.get('Service', 'a', 'three')?.['kind'], 'Service');
});

test('with namespaces, one reflector per namespace for namespaced kinds and one for cluster-scoped kinds', () => {
  const src = new KubernetesSource({
    client: new FakeClient(),
    namespaces: ['a', 'b', 'a'],
    kinds: ['Service', 'IngressClass'],
  });
  assert.deepEqual(
    src.reflectors.map((r) => r.label),
    ['services/v1 in namespace a', 'services/v1 in namespace b', 'ingressclasses.networking.k8s.io/v1'],
  );
});
