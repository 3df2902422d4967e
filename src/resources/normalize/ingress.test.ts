import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bracketIndexes,
  checkIngressSpec,
  isOurController,
  type KnownClass,
  selectIngressClass,
} from './ingress.js';

const classes = new Map<string, KnownClass>([
  ['legate', { ours: true, isDefault: false }],
  [
    'nginx',
    {
      ours: false,
      isDefault: true,
      why: 'IngressClass "nginx" belongs to controller "k8s.io/ingress-nginx"',
    },
  ],
]);

test('controllers: Legate and Emissary, case-insensitive', () => {
  assert.equal(isOurController('legate.dev/ingress-controller'), true);
  assert.equal(isOurController('GetAmbassador.io/Ingress-Controller'), true);
  assert.equal(isOurController('k8s.io/ingress-nginx'), false);
  assert.equal(isOurController(undefined), false);
});

test('class selection: class name, legacy annotation, default class', () => {
  const sel = (ingressClassName: string | undefined, annotation: unknown, cs = classes) =>
    selectIngressClass({ ingressClassName, annotation, classes: cs });
  assert.deepEqual(sel('legate', undefined), { ours: true, via: 'ingressClassName', name: 'legate' });
  assert.deepEqual(sel(undefined, 'AMBASSADOR'), { ours: true, via: 'annotation', name: 'AMBASSADOR' });
  assert.deepEqual(sel(undefined, 'legate'), { ours: true, via: 'annotation', name: 'legate' });
  assert.equal(sel('nginx', undefined).ours, false);
  assert.equal(sel('missing', undefined).ours, false);
  assert.equal(sel(undefined, 'nginx').ours, false);
  // No class: only a default class of ours counts (nginx's default does not).
  assert.equal(sel(undefined, undefined).ours, false);
  const withDefault = new Map(classes).set('mine', { ours: true, isDefault: true });
  assert.deepEqual(sel(undefined, undefined, withDefault), { ours: true, via: 'default', name: 'mine' });
  // A legacy annotation naming someone else is not "no class".
  assert.equal(sel(undefined, 'nginx', withDefault).ours, false);
});

test('API-server checks give Kubernetes field paths', () => {
  assert.equal(bracketIndexes('spec.rules.0.http.paths.12.backend'), 'spec.rules[0].http.paths[12].backend');
  const found = checkIngressSpec({
    rules: [
      {
        host: '*.Foo.com',
        http: {
          paths: [
            { path: '/a/../b', pathType: 'Prefix', backend: { service: { port: { number: 80 } } } },
            { path: '/ok', pathType: 'Exact', backend: { service: { port: {} } } },
            { path: '/x', pathType: 'Exact', backend: {} },
            { pathType: 'ImplementationSpecific', backend: { service: { port: { name: 'http' } } } },
          ],
        },
      },
    ],
  });
  assert.deepEqual(
    found.map((c) => c.field),
    [
      'spec.rules[0].host',
      'spec.rules[0].http.paths[0].path',
      'spec.rules[0].http.paths[1].backend.service.port',
      'spec.rules[0].http.paths[2].backend',
    ],
  );
  assert.ok(found.every((c) => c.critical));
  assert.deepEqual(checkIngressSpec({ rules: [{ host: '*.foo.com' }] }), []);
});
