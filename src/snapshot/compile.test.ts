import assert from 'node:assert/strict';
import { test } from 'node:test';
import { irOf, irRoute, request, target } from '../../test/conformance/ir-route.js';
import { type CompileProblem, compileSnapshot } from './compile.js';

test('compile: snapshot carries version, hash, settings, clusters by id and the IR', () => {
  const ir = irOf([irRoute(0)]);
  const snap = compileSnapshot(ir, 7);
  assert.equal(snap.version, 7);
  assert.equal(snap.hash, ir.hash);
  assert.equal(snap.settings, ir.settings);
  assert.equal(snap.ir, ir);
  assert.equal(snap.clusters.get('cluster-a'), ir.clusters[0]);
  assert.equal(snap.table.size, 1);
});

test('compile: routes are in evaluation order even when the IR lists them otherwise', () => {
  const snap = compileSnapshot(irOf([irRoute(2), irRoute(0), irRoute(1)]), 1);
  assert.deepEqual(
    snap.routes.map((r) => r.order),
    [0, 1, 2],
  );
});

test('compile: targets are precomputed (null for empty lists, lower-cased names, rewriter built)', () => {
  const route = irRoute(0, {
    path: '/backend/',
    targets: [
      {
        rewrite: { kind: 'prefix', value: '/' },
        addRequestHeaders: [{ name: 'X-Added', value: 'v', append: true }],
        removeResponseHeaders: ['Server'],
        hostRewrite: 'up.example',
      },
    ],
  });
  const [compiled] = compileSnapshot(irOf([route]), 1).routes;
  assert.equal(compiled.single, true);
  assert.equal(compiled.redirect, null);
  assert.equal(compiled.shadow, null);
  const t = compiled.targets[0];
  assert.equal(t.cluster, 'cluster-a');
  assert.equal(t.rewritePath?.('/backend/x'), '/x');
  assert.deepEqual(t.addRequestHeaders, [{ name: 'x-added', value: 'v', append: true }]);
  assert.equal(t.removeRequestHeaders, null);
  assert.equal(t.addResponseHeaders, null);
  assert.deepEqual(t.removeResponseHeaders, ['server']);
  assert.equal(t.hostRewrite, 'up.example');
  assert.equal(t.timeoutMs, 3000);
});

test('compile: canary targets keep their thresholds and order; single is false', () => {
  const route = irRoute(0, {
    targets: [
      target({ threshold: 10, weight: 10, cluster: 'c1' }),
      target({ threshold: 100, weight: 90, cluster: 'c2' }),
    ],
  });
  const [compiled] = compileSnapshot(irOf([route]), 1).routes;
  assert.equal(compiled.single, false);
  assert.deepEqual(
    compiled.targets.map((t) => [t.threshold, t.cluster]),
    [
      [10, 'c1'],
      [100, 'c2'],
    ],
  );
});

test('compile: redirect routes get a Location builder and no targets', () => {
  const route = irRoute(0, {
    redirect: { code: 302, host: 'other.example', scheme: 'https', path: { kind: 'keep' } },
  });
  const [compiled] = compileSnapshot(irOf([route]), 1).routes;
  assert.equal(compiled.targets.length, 0);
  assert.equal(compiled.redirect?.code, 302);
  assert.equal(compiled.redirect?.location('http', 'h', '/p', 'q=1'), 'https://other.example/p?q=1');
});

test('compile: shadow gets its own rewriter', () => {
  const route = irRoute(0, {
    path: '/s/',
    shadow: {
      mapping: 'Mapping/default/shadow',
      cluster: 'shadow-c',
      percent: 50,
      rewrite: { kind: 'prefix', value: '/mirror/' },
      hostRewrite: null,
      timeoutMs: 1000,
    },
  });
  const [compiled] = compileSnapshot(irOf([route]), 1).routes;
  assert.equal(compiled.shadow?.cluster, 'shadow-c');
  assert.equal(compiled.shadow?.percent, 50);
  assert.equal(compiled.shadow?.rewritePath?.('/s/a'), '/mirror/a');
});

test('compile: a route whose regex does not compile is left out and reported; the rest still works', () => {
  const problems: CompileProblem[] = [];
  const ir = irOf([
    irRoute(0, { path: { kind: 'regex', value: '/(' } }),
    irRoute(1, { headers: [{ name: 'x', kind: 'regex', value: '[' }] }),
    irRoute(2, { path: '/' }),
  ]);
  const snap = compileSnapshot(ir, 1, { onProblem: (p) => problems.push(p) });
  assert.deepEqual(
    problems.map((p) => [p.routeId, p.order, p.sources]),
    [
      ['route-0', 0, ['Mapping/default/m0']],
      ['route-1', 1, ['Mapping/default/m1']],
    ],
  );
  assert.match(problems[0].message, /invalid regular expression/);
  assert.equal(snap.routes.length, 1);
  assert.equal(snap.table.size, 1);
  assert.equal(snap.table.match(request({ path: '/(' }))?.order, 2);
});

test('compile: frozen by default outside production; not frozen when asked', () => {
  const frozen = compileSnapshot(irOf([irRoute(0)]), 1);
  assert.ok(Object.isFrozen(frozen));
  assert.ok(Object.isFrozen(frozen.routes));
  assert.ok(Object.isFrozen(frozen.routes[0].targets[0]));
  assert.ok(Object.isFrozen(frozen.ir.routes[0].match));
  assert.throws(() => {
    (frozen.routes as unknown[]).push(null);
  }, TypeError);
  // The frozen table still matches (RegExps are not frozen, scratch state stays writable).
  const rx = compileSnapshot(irOf([irRoute(0, { path: { kind: 'regex', value: '/a+' } })]), 1);
  assert.equal(rx.table.match(request({ path: '/aa' }))?.order, 0);
  assert.equal(rx.table.match(request({ path: '/b' })), null);
  const loose = compileSnapshot(irOf([irRoute(0)]), 1, { freeze: false });
  assert.equal(Object.isFrozen(loose), false);
});

test('compile: a target without its own body limit / head timeout gets the Module default; its own value (0 included) wins', () => {
  const route = irRoute(0, {
    targets: [
      { threshold: 30 },
      { threshold: 60, maxRequestBodyBytes: 0, responseHeadersTimeoutMs: 0 },
      { threshold: 100, maxRequestBodyBytes: 4096, responseHeadersTimeoutMs: 750 },
    ],
  });
  const base = irOf([route]);
  const ir = {
    ...base,
    settings: { ...base.settings, maxRequestBodyBytes: 1024, responseHeadersTimeoutMs: 2000 },
  };
  const [compiled] = compileSnapshot(ir, 1).routes;
  assert.deepEqual(
    compiled.targets.map((t) => [t.maxRequestBodyBytes, t.responseHeadersTimeoutMs]),
    [
      [1024, 2000],
      [0, 0],
      [4096, 750],
    ],
  );
});
