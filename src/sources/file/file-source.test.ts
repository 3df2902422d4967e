import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SourceSnapshot } from '../../resources/types.js';
import { FileSource, loadDirectory } from './file-source.js';

const mapping = (name: string) =>
  `apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  name: ${name}\nspec:\n  prefix: /${name}/\n  service: s\n`;
const names = (s: SourceSnapshot) =>
  s.objects.map((o) => (o.object as { metadata: { name: string } }).metadata.name);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'legate-file-source-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('loadDirectory reads yaml/yml/json recursively, skips dotfiles, paths relative and sorted', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'sub'));
  mkdirSync(join(dir, '.hidden'));
  writeFileSync(join(dir, 'b.yaml'), mapping('b'));
  writeFileSync(join(dir, 'sub', 'a.yml'), mapping('a'));
  writeFileSync(
    join(dir, 'c.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } }),
  );
  writeFileSync(join(dir, '.hidden', 'x.yaml'), mapping('x'));
  writeFileSync(join(dir, '.dot.yaml'), mapping('dot'));
  writeFileSync(join(dir, 'notes.txt'), 'kind: nope');
  writeFileSync(join(dir, 'broken.yaml'), 'kind: [\n');
  const snap = await loadDirectory(dir, 'files');
  assert.equal(snap.source, 'files');
  assert.deepEqual(names(snap), ['b', 'c', 'a']);
  assert.deepEqual(
    snap.objects.map((o) => o.location.file),
    ['b.yaml', 'c.json', 'sub/a.yml'],
  );
  assert.equal(snap.objects[0].location.source, 'files');
  assert.equal(snap.problems.length, 1);
  assert.equal(snap.problems[0].location.file, 'broken.yaml');
});

test('loadDirectory on a missing directory throws GW_ERR_CONFIG_LOAD', async () => {
  await assert.rejects(loadDirectory(join(tmpdir(), 'legate-does-not-exist-xyz')), {
    code: 'GW_ERR_CONFIG_LOAD',
  });
});

/** Collects publishes; `next()` resolves with the next one. */
function collector() {
  const queue: SourceSnapshot[] = [];
  let waiter: ((s: SourceSnapshot) => void) | undefined;
  return {
    publish(s: SourceSnapshot) {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(s);
      } else queue.push(s);
    },
    next(ms = 5000): Promise<SourceSnapshot> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no publish in time')), ms);
        waiter = (s) => {
          clearTimeout(timer);
          resolve(s);
        };
      });
    },
    get pending() {
      return queue.length;
    },
  };
}

test('FileSource publishes on start and after changes; a broken file keeps its last good objects', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), mapping('a'));
  const ac = new AbortController();
  t.after(() => ac.abort());
  const c = collector();
  const src = new FileSource({ dir, debounceMs: 20, pollIntervalMs: 50 });
  assert.equal(src.name, 'file');
  await src.start(ac.signal, (s) => c.publish(s));
  assert.deepEqual(names(await c.next()), ['a']);

  // A new subdirectory with a file (needs recursive watch or the stat scan).
  mkdirSync(join(dir, 'team'));
  writeFileSync(join(dir, 'team', 'b.yaml'), mapping('b'));
  assert.deepEqual(names(await c.next()), ['a', 'b']);

  // Broken: b's last good objects stay, with the problem alongside.
  writeFileSync(join(dir, 'team', 'b.yaml'), 'kind: [\n');
  let snap = await c.next();
  assert.deepEqual(names(snap), ['a', 'b']);
  assert.equal(snap.problems.length, 1);
  assert.equal(snap.problems[0].location.file, 'team/b.yaml');

  // Editor-style rename-replace fixes it.
  writeFileSync(join(dir, 'team', '.b.yaml.tmp'), mapping('b2'));
  renameSync(join(dir, 'team', '.b.yaml.tmp'), join(dir, 'team', 'b.yaml'));
  snap = await c.next();
  assert.deepEqual(names(snap), ['a', 'b2']);
  assert.deepEqual(snap.problems, []);

  // Deleting drops its objects.
  rmSync(join(dir, 'a.yaml'));
  assert.deepEqual(names(await c.next()), ['b2']);
});

test('FileSource does not publish when nothing changed, and stops on abort', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), mapping('a'));
  const ac = new AbortController();
  const c = collector();
  await new FileSource({ dir, debounceMs: 10, pollIntervalMs: 20 }).start(ac.signal, (s) => c.publish(s));
  await c.next();
  await new Promise((r) => setTimeout(r, 150)); // several poll rounds
  assert.equal(c.pending, 0);
  ac.abort();
  writeFileSync(join(dir, 'b.yaml'), mapping('b'));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(c.pending, 0);
});

test('snapshots carry the last good text of each file; objects carry document lines, not field lines', async (t) => {
  const dir = tempDir(t);
  const good = `# first\n${mapping('a')}`;
  writeFileSync(join(dir, 'a.yaml'), good);
  const first = await loadDirectory(dir);
  assert.deepEqual(first.texts, { 'a.yaml': good });
  assert.deepEqual(first.objects[0].location, { source: 'file', file: 'a.yaml', line: 2, docIndex: 0 });

  const source = new FileSource({ dir, debounceMs: 5, pollIntervalMs: 20 });
  const ac = new AbortController();
  t.after(() => ac.abort());
  const seen: SourceSnapshot[] = [];
  await source.start(ac.signal, (s) => seen.push(s));
  writeFileSync(join(dir, 'a.yaml'), 'kind: [\n');
  for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen.length, 2);
  // Broken now: the last good objects stay, and so does the text they were read from.
  assert.equal(seen[1].problems.length, 1);
  assert.deepEqual(names(seen[1]), ['a']);
  assert.deepEqual(seen[1].texts, { 'a.yaml': good });
});

test('FileSource sees every rename-replace from watch events alone, in subdirectories too', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'team'));
  writeFileSync(join(dir, 'a.yaml'), mapping('a0'));
  writeFileSync(join(dir, 'team', 'b.yaml'), mapping('b0'));
  const ac = new AbortController();
  t.after(() => ac.abort());
  const c = collector();
  // No stat poll: only watch events can trigger a scan.
  await new FileSource({ dir, debounceMs: 5, pollIntervalMs: 0 }).start(ac.signal, (s) => c.publish(s));
  assert.deepEqual(names(await c.next()), ['a0', 'b0']);
  for (let k = 1; k <= 3; k++) {
    writeFileSync(join(dir, '.a.tmp'), mapping(`a${k}`));
    renameSync(join(dir, '.a.tmp'), join(dir, 'a.yaml'));
    assert.deepEqual(names(await c.next(2000)), [`a${k}`, `b${k - 1}`]);
    writeFileSync(join(dir, 'team', '.b.tmp'), mapping(`b${k}`));
    renameSync(join(dir, 'team', '.b.tmp'), join(dir, 'team', 'b.yaml'));
    assert.deepEqual(names(await c.next(2000)), [`a${k}`, `b${k}`]);
  }
  // A directory created later is watched after the scan that finds it.
  mkdirSync(join(dir, 'late'));
  writeFileSync(join(dir, 'late', 'c.yaml'), mapping('c0'));
  assert.deepEqual(names(await c.next(2000)), ['a3', 'c0', 'b3']);
  writeFileSync(join(dir, 'late', '.c.tmp'), mapping('c1'));
  renameSync(join(dir, 'late', '.c.tmp'), join(dir, 'late', 'c.yaml'));
  assert.deepEqual(names(await c.next(2000)), ['a3', 'c1', 'b3']);
});
