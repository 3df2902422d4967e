/**
 * The test network namespaces (netns.ts) and the upstream that runs inside one: reachable from the
 * root namespace on the namespace-side address only, answering `<name> <path>` with exact hit
 * counts; everything removed on close; stale namespaces of dead processes removed, live ones kept.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { request } from 'undici';
import { startNetnsUpstream } from './gateway-support.js';
import { createTestNetns, netnsUnavailable, removeStaleNamespaces } from './netns.js';

const noNetns = netnsUnavailable();
const needsNetns = { skip: noNetns ? `needs a test network namespace: ${noNetns}` : false };

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function namespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

test('an upstream in a test namespace serves on the namespace address; close removes it all', {
  ...needsNetns,
  timeout: 30_000,
}, async (t) => {
  t.plan(12);
  const net = createTestNetns();
  t.after(() => net.close());
  t.assert.match(net.name, new RegExp(`^legate-${process.pid}-\\d+$`));
  t.assert.equal(namespaces().includes(net.name), true);
  t.assert.doesNotMatch(net.address, /^(127\.|169\.254\.)/, 'an address an EndpointSlice accepts');
  const up = await startNetnsUpstream(net, 'blue');
  const res = await request(`http://${net.address}:${up.port}/some/path?q=1`);
  t.assert.equal(res.statusCode, 200);
  t.assert.equal(res.headers['content-type'], 'text/plain');
  t.assert.equal(await res.body.text(), 'blue /some/path?q=1');
  await request(`http://${net.address}:${up.port}/again`).then((r) => r.body.text());
  t.assert.equal(await up.hits(), 2);

  // Inside the namespace only its own veth and lo exist: no route to anything else.
  const routes = execFileSync('ip', ['-n', net.name, '-4', 'route', 'show'], { encoding: 'utf8' });
  t.assert.doesNotMatch(routes, /default/);

  // A requested port is honoured (the namespace has its own port space).
  const fixed = await startNetnsUpstream(net, 'green', 8080);
  t.assert.equal(fixed.port, 8080);
  t.assert.equal(await (await request(`http://${net.address}:8080/`)).body.text(), 'green /');

  await up.close();
  await net.close();
  t.assert.equal(namespaces().includes(net.name), false, 'namespace deleted');
  const hostLinks = ip('-o', 'link', 'show')
    .split('\n')
    .filter((l) => l.includes(`lg${process.pid}h`));
  t.assert.deepEqual(hostLinks, [], 'host side of the veth deleted');
});

test('stale namespaces: a dead process’s are removed, a live one’s and foreign names are kept', {
  ...needsNetns,
  timeout: 30_000,
}, (t) => {
  // A pid that just exited: spawnSync returns after the child is reaped.
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const live = process.ppid;
  const stale = `legate-${dead}-0`;
  const kept = `legate-${live}-0`;
  const foreign = `legate-tests-${dead}`;
  for (const ns of [stale, kept, foreign]) ip('netns', 'add', ns);
  t.after(() => {
    for (const ns of [stale, kept, foreign]) spawnSync('ip', ['netns', 'del', ns]);
  });
  const removed = removeStaleNamespaces(true);
  assert.ok(removed.includes(stale));
  const left = namespaces();
  assert.ok(!left.includes(stale));
  assert.ok(left.includes(kept), 'a running process’s namespace stays');
  assert.ok(left.includes(foreign), 'names outside our pattern stay');
});
