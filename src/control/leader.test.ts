import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeRequest } from '../sources/kubernetes/client.js';
import { FakeClient, FakeTimers, statusError } from '../sources/kubernetes/test-support.js';
import { LeaderElector } from './leader.js';

/** A Lease store with optimistic concurrency, as the API server keeps it. */
function leaseServer() {
  let lease: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | null = null;
  let rv = 0;
  const handler = (req: KubeRequest): unknown => {
    const body = req.body as typeof lease;
    if (req.method === 'GET') {
      if (!lease) throw statusError(404, 'NotFound');
      return structuredClone(lease);
    }
    if (req.method === 'POST') {
      if (lease) throw statusError(409, 'AlreadyExists');
      lease = { metadata: { ...body!.metadata, resourceVersion: String(++rv) }, spec: body!.spec };
      return lease;
    }
    if (req.method === 'PUT') {
      if (body!.metadata['resourceVersion'] !== lease?.metadata['resourceVersion'])
        throw statusError(409, 'Conflict');
      lease = { metadata: { ...body!.metadata, resourceVersion: String(++rv) }, spec: body!.spec };
      return lease;
    }
    throw new Error(`unexpected ${req.method}`);
  };
  return { handler, get: () => lease };
}

function elector(client: FakeClient, timers: FakeTimers, identity: string) {
  const changes: boolean[] = [];
  const e = new LeaderElector({
    client,
    timers,
    namespace: 'gw',
    name: 'legate-status',
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onChange: (l) => changes.push(l),
  });
  return { e, changes };
}

test('the first replica creates the lease; the second waits a whole lease duration of silence, then takes over', async () => {
  const server = leaseServer();
  const client = new FakeClient();
  client.handler = server.handler;
  const timers = new FakeTimers();
  const a = elector(client, timers, 'a');
  const b = elector(client, timers, 'b');
  await a.e.tryAcquireOrRenew();
  assert.equal(a.e.isLeader, true);
  assert.equal(server.get()!.spec['holderIdentity'], 'a');
  assert.match(String(server.get()!.spec['renewTime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  await b.e.tryAcquireOrRenew();
  assert.equal(b.e.isLeader, false);
  // a keeps renewing: b never takes over.
  for (let i = 0; i < 10; i++) {
    await timers.advance(2_000);
    await a.e.tryAcquireOrRenew();
    await b.e.tryAcquireOrRenew();
  }
  assert.equal(b.e.isLeader, false);
  assert.equal(a.e.isLeader, true);
  // a stops renewing: after 15 s of an unchanged record on b's clock, b takes over.
  await timers.advance(14_000);
  await b.e.tryAcquireOrRenew();
  assert.equal(b.e.isLeader, false);
  await timers.advance(2_000);
  await b.e.tryAcquireOrRenew();
  assert.equal(b.e.isLeader, true);
  assert.equal(server.get()!.spec['holderIdentity'], 'b');
  assert.equal(server.get()!.spec['leaseTransitions'], 1);
  // a comes back: it sees b's lease and steps down.
  await a.e.tryAcquireOrRenew();
  assert.equal(a.e.isLeader, false);
  assert.deepEqual(a.changes, [true, false]);
  assert.deepEqual(b.changes, [true]);
});

test('a conflicting write does not make a leader; release empties the holder', async () => {
  const server = leaseServer();
  const client = new FakeClient();
  client.handler = server.handler;
  const timers = new FakeTimers();
  const a = elector(client, timers, 'a');
  await a.e.tryAcquireOrRenew();
  // Someone else's write slipped in between our read and our write.
  const inner = server.handler;
  client.handler = (req) => {
    if (req.method === 'PUT') throw statusError(409, 'Conflict');
    return inner(req);
  };
  const b = elector(client, timers, 'b');
  await timers.advance(20_000);
  await b.e.tryAcquireOrRenew();
  await timers.advance(20_000);
  await b.e.tryAcquireOrRenew();
  assert.equal(b.e.isLeader, false);
  assert.equal(b.e.stats.conflicts, 1);
  client.handler = inner;
  await a.e.release();
  assert.equal(a.e.isLeader, false);
  assert.equal(server.get()!.spec['holderIdentity'], null);
  await b.e.tryAcquireOrRenew();
  assert.equal(b.e.isLeader, true, 'an empty holder is free at once');
});

test('a leader that cannot renew within the deadline steps down', async (t) => {
  const server = leaseServer();
  const client = new FakeClient();
  client.handler = server.handler;
  const timers = new FakeTimers();
  const a = elector(client, timers, 'a');
  const ac = new AbortController();
  t.after(() => ac.abort());
  void a.e.run(ac.signal);
  await timers.advance(0);
  assert.equal(a.e.isLeader, true);
  client.handler = () => {
    throw new Error('connect ECONNREFUSED');
  };
  await timers.advance(9_000);
  assert.equal(a.e.isLeader, true);
  await timers.advance(4_000);
  assert.equal(a.e.isLeader, false);
});
