import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ir } from '../ir/types.js';
import { buildIrFromSources } from '../main.js';
import { lineOfField } from '../resources/key.js';
import type { SourceSnapshot } from '../resources/types.js';
import { parseConfigText } from '../sources/file/parse.js';
import { FakeTimers } from '../util/fake-timers.js';
import { hashInput, type ReconcileOutcome, Reconciler } from './reconciler.js';

function snap(source: string, names: string[]): SourceSnapshot {
  return {
    source,
    objects: names.map((n) => ({ object: { kind: 'Mapping', metadata: { name: n } }, location: { source } })),
    problems: [],
  };
}

function fakeIr(sets: readonly SourceSnapshot[]): Ir {
  const names = sets.flatMap((s) =>
    s.objects.map((o) => (o.object as { metadata: { name: string } }).metadata.name),
  );
  return { hash: names.join(','), routes: [], clusters: [], statuses: [] } as unknown as Ir;
}

function setup(opts: { required?: string[]; build?: (s: readonly SourceSnapshot[]) => Ir } = {}) {
  const timers = new FakeTimers();
  const applied: string[] = [];
  const outcomes: ReconcileOutcome[] = [];
  const r = new Reconciler({
    requiredSources: opts.required ?? ['file'],
    build: opts.build ?? fakeIr,
    apply: (ir) => {
      applied.push(ir.hash);
    },
    holdoffMs: 100,
    maxDelayMs: 1000,
    timers,
    onSettled: (o) => outcomes.push(o),
  });
  return { r, timers, applied, outcomes };
}

test('the first complete view is applied at once, later changes after the holdoff', async () => {
  const { r, timers, applied } = setup();
  r.publish(snap('file', ['a']));
  await timers.advance(0);
  assert.deepEqual(applied, ['a']);
  r.publish(snap('file', ['a', 'b']));
  await timers.advance(50);
  assert.deepEqual(applied, ['a'], 'not before the holdoff');
  await timers.advance(60);
  assert.deepEqual(applied, ['a', 'a,b']);
});

test('a burst is debounced into one apply, but never delayed past maxDelay', async () => {
  const { r, timers, applied } = setup();
  r.publish(snap('file', ['x']));
  await timers.advance(0);
  for (let i = 0; i < 30; i++) {
    r.publish(snap('file', ['x', String(i)]));
    await timers.advance(50); // each change resets the 100 ms holdoff
  }
  // 30 changes × 50 ms = 1500 ms: the max-delay cap forced an apply at 1000 ms.
  assert.equal(applied.length, 2);
  assert.equal(applied[1], 'x,19');
  await timers.advance(200);
  assert.deepEqual(applied.slice(-1), ['x,29']);
});

test('nothing is applied until every required source has synced', async () => {
  const { r, timers, applied } = setup({ required: ['file', 'kubernetes'] });
  r.publish(snap('file', ['a']));
  await timers.advance(5000);
  assert.deepEqual(applied, []);
  assert.equal(r.synced, false);
  r.publish(snap('kubernetes', ['k']));
  await timers.advance(0);
  assert.deepEqual(applied, ['a,k']);
});

test('unchanged input is skipped before building; an unchanged IR is not re-applied', async () => {
  let builds = 0;
  const { r, timers, applied, outcomes } = setup({
    build: (s) => {
      builds++;
      return { ...fakeIr(s), hash: 'same' };
    },
  });
  r.publish(snap('file', ['a']));
  await timers.advance(0);
  r.publish(snap('file', ['a']));
  await timers.advance(200);
  assert.equal(builds, 1);
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['applied', 'skipped'],
  );
  r.publish(snap('file', ['b']));
  await timers.advance(200);
  assert.equal(builds, 2);
  assert.deepEqual(applied, ['same']);
  assert.deepEqual(outcomes[2], { kind: 'skipped', reason: 'same-ir' });
});

test('a failed build keeps the last good IR and reports the error; the next change recovers', async () => {
  const { r, timers, applied } = setup({
    build: (s) => {
      const ir = fakeIr(s);
      if (ir.hash.includes('boom')) throw new Error('boom');
      return ir;
    },
  });
  r.publish(snap('file', ['a']));
  await timers.advance(0);
  r.publish(snap('file', ['boom']));
  await timers.advance(200);
  assert.equal(r.lastIr?.hash, 'a');
  assert.match(String(r.lastError), /boom/);
  r.publish(snap('file', ['c']));
  await timers.advance(200);
  assert.equal(r.lastError, null);
  assert.deepEqual(applied, ['a', 'c']);
});

test('changes that arrive during a slow apply are applied after it, never concurrently', async () => {
  const timers = new FakeTimers();
  let concurrent = 0;
  let maxConcurrent = 0;
  let release: () => void = () => {};
  const applied: string[] = [];
  const r = new Reconciler({
    requiredSources: ['file'],
    build: fakeIr,
    apply: async (ir) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (ir.hash === 'a') await new Promise<void>((res) => (release = res));
      applied.push(ir.hash);
      concurrent--;
    },
    holdoffMs: 10,
    maxDelayMs: 100,
    timers,
  });
  r.publish(snap('file', ['a']));
  await timers.advance(0);
  r.publish(snap('file', ['b']));
  await timers.advance(50);
  assert.deepEqual(applied, []);
  release();
  await timers.advance(50);
  assert.deepEqual(applied, ['a', 'b']);
  assert.equal(maxConcurrent, 1);
});

test('input hash: a source with texts is hashed by them; objects without a text still count', () => {
  const objects = [
    { object: { kind: 'Mapping' }, location: { source: 'file', file: 'a.yaml', docIndex: 0 } },
  ];
  const withText = (text: string): SourceSnapshot => ({
    source: 'file',
    objects,
    problems: [],
    texts: { 'a.yaml': text },
  });
  const base = hashInput([withText('kind: Mapping\n')]);
  assert.equal(hashInput([withText('kind: Mapping\n')]), base);
  // Same objects, different text (a comment moved a field): a different input.
  assert.notEqual(hashInput([withText('# note\nkind: Mapping\n')]), base);
  // Boundaries are unambiguous: moving characters between file name and text changes the hash.
  assert.notEqual(
    hashInput([{ source: 'file', objects: [], problems: [], texts: { ab: 'c' } }]),
    hashInput([{ source: 'file', objects: [], problems: [], texts: { a: 'bc' } }]),
  );
  // An object whose file has no text is hashed as JSON.
  const stray = (name: string): SourceSnapshot => ({
    ...withText('kind: Mapping\n'),
    objects: [...objects, { object: { kind: 'Mapping', metadata: { name } }, location: { source: 'file' } }],
  });
  assert.notEqual(hashInput([stray('x')]), hashInput([stray('y')]));
  // Sources without texts (Kubernetes): objects as JSON.
  assert.notEqual(hashInput([snap('k8s', ['a'])]), hashInput([snap('k8s', ['b'])]));
  assert.equal(hashInput([snap('k8s', ['a'])]), hashInput([snap('k8s', ['a'])]));
  // Problems count.
  assert.notEqual(
    hashInput([
      { ...withText('x'), problems: [{ location: { source: 'file', file: 'a.yaml' }, message: 'm' }] },
    ]),
    hashInput([withText('x')]),
  );
});

test('a field moved by a comment line is rebuilt and applied, so its problem shows the new line', async () => {
  const file = (prefix: string): SourceSnapshot => {
    const text = `${prefix}apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  name: m\nspec:\n  hostname: "*"\n  prefix: /a/\n  service: web\n  prefx: /oops/\n`;
    const parsed = parseConfigText(text, 'm.yaml', 'file', { fieldLines: 'lazy' });
    return { source: 'file', objects: parsed.objects, problems: parsed.problems, texts: { 'm.yaml': text } };
  };
  const { r, timers, applied } = setup({
    build: (sets) => buildIrFromSources(sets, { ambassadorId: 'default', namespace: 'default' }),
  });
  const lineOfProblem = () => {
    const s = r.lastIr!.statuses.find((x) => x.key === 'Mapping/default/m')!;
    return lineOfField(s.location, s.conditions[0]!.field!);
  };
  r.publish(file(''));
  await timers.advance(0);
  assert.equal(applied.length, 1);
  assert.equal(lineOfProblem(), 9);
  // Comment lines inside the document, above the field: the parsed objects are identical.
  const moved = file('');
  const text = moved.texts!['m.yaml']!.replace('  prefx:', '  # a comment\n  # another\n  prefx:');
  const parsed = parseConfigText(text, 'm.yaml', 'file', { fieldLines: 'lazy' });
  assert.deepEqual(parsed.objects, moved.objects);
  r.publish({ ...moved, objects: parsed.objects, texts: { 'm.yaml': text } });
  await timers.advance(200);
  assert.equal(applied.length, 2);
  assert.equal(lineOfProblem(), 11);
});

test('after a quiet period longer than maxDelay a change runs at once; the changes after it wait', async () => {
  const { r, timers, applied } = setup();
  r.publish(snap('file', ['a']));
  await timers.advance(0);
  await timers.advance(1500);
  r.publish(snap('file', ['a', 'b']));
  await timers.advance(0);
  assert.deepEqual(applied, ['a', 'a,b'], 'no holdoff after 1.5 s without a reconcile');
  r.publish(snap('file', ['a', 'b', 'c']));
  await timers.advance(50);
  assert.equal(applied.length, 2, 'within maxDelay of the last run: the holdoff applies');
  r.publish(snap('file', ['a', 'b', 'c', 'd']));
  await timers.advance(99);
  assert.equal(applied.length, 2, 'the holdoff restarted with the newer change');
  await timers.advance(1);
  assert.deepEqual(applied.slice(2), ['a,b,c,d']);
});
