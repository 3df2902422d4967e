/**
 * The Helm chart against the plain manifests: `helm lint --strict` passes, and `helm template` with
 * default values renders the same RBAC rules, pod spec (apart from the extra flags the chart always
 * passes), Services, PDB and IngressClass as deploy/*.yaml, so the two install paths cannot drift.
 *
 * Needs a `helm` binary: $LEGATE_HELM, else `helm` on PATH, else ~/.cache/legate-tools/helm (built
 * with `GOBIN=~/.cache/legate-tools go install helm.sh/helm/v3/cmd/helm@v3.17.3`). Skipped, with
 * that reason, when there is none.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { findHelm, kNoHelm } from './helm-binary.js';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'deploy', 'helm', 'legate');

type Obj = { kind: string; metadata: { name: string }; [k: string]: unknown };

const helm = findHelm();
const skip = helm ? false : kNoHelm;

function parseDocs(text: string): Obj[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function plain(file: string): Obj[] {
  return parseDocs(readFileSync(join(root, 'deploy', file), 'utf8'));
}

function render(...set: string[]): Obj[] {
  const args = ['template', 'legate', chart, '-n', 'legate', '--kube-version', '1.31.0'];
  for (const s of set) args.push('--set', s);
  return parseDocs(execFileSync(helm!, args, { encoding: 'utf8' }));
}

function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `${kind}${name ? `/${name}` : ''}: ${found.length} found`);
  return found[0]!;
}

test('helm lint --strict passes', { skip }, () => {
  const out = execFileSync(helm!, ['lint', chart, '--strict', '--kube-version', '1.31.0'], {
    encoding: 'utf8',
  });
  assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('the chart with default values renders what deploy/*.yaml holds', { skip }, () => {
  const chartObjs = render();
  const raw = [...plain('rbac.yaml'), ...plain('legate.yaml'), ...plain('ingressclass.yaml')];

  assert.deepEqual(one(chartObjs, 'ClusterRole')['rules'], one(raw, 'ClusterRole')['rules']);
  assert.deepEqual(one(chartObjs, 'Role')['rules'], one(raw, 'Role')['rules']);

  type Deployment = {
    spec: { replicas: number; strategy: unknown; template: { spec: Record<string, unknown> } };
  };
  const hd = one(chartObjs, 'Deployment') as unknown as Deployment;
  const rd = one(raw, 'Deployment') as unknown as Deployment;
  assert.equal(hd.spec.replicas, rd.spec.replicas);
  assert.deepEqual(hd.spec.strategy, rd.spec.strategy);
  const strip = (pod: Record<string, unknown>) => {
    const { containers, topologySpreadConstraints: _t, serviceAccountName: _s, ...rest } = pod;
    const [c] = containers as Array<Record<string, unknown>>;
    const { args, ...container } = c!;
    return { rest, container, args: args as string[] };
  };
  const h = strip(hd.spec.template.spec);
  const r = strip(rd.spec.template.spec);
  assert.deepEqual(h.rest, r.rest);
  assert.deepEqual(h.container, { ...r.container, image: 'legate:0.1.0' });
  assert.deepEqual(h.args, [
    ...r.args,
    '--ambassador-id',
    'default',
    '--lease-name',
    'legate-status-default',
  ]);

  for (const [name, rawName] of [
    ['legate', 'legate'],
    ['legate-admin', 'legate-admin'],
  ] as const) {
    const hs = one(chartObjs, 'Service', name)['spec'] as Record<string, unknown>;
    const rs = one(raw, 'Service', rawName)['spec'] as Record<string, unknown>;
    assert.deepEqual({ ...hs, selector: undefined }, { ...rs, selector: undefined });
  }
  assert.equal(
    (one(chartObjs, 'PodDisruptionBudget')['spec'] as Record<string, unknown>)['minAvailable'],
    (one(raw, 'PodDisruptionBudget')['spec'] as Record<string, unknown>)['minAvailable'],
  );
  assert.deepEqual(one(chartObjs, 'IngressClass')['spec'], one(raw, 'IngressClass')['spec']);
});

test('chart switches: secrets rule, lease name, namespaces, publish address, optional objects', {
  skip,
}, () => {
  const objs = render(
    'rbac.secrets=true',
    'ambassadorId=blue',
    'publishAddress=lb.example.com',
    'watchNamespaces={a,b}',
    'podDisruptionBudget.enabled=false',
    'ingressClass.enabled=false',
    'admin.service.enabled=false',
  );
  const rules = one(objs, 'ClusterRole')['rules'] as Array<{ resources: string[] }>;
  assert.ok(rules.some((r) => r.resources.includes('secrets')));
  const lease = (one(objs, 'Role')['rules'] as Array<{ resourceNames?: string[] }>)[1]!;
  assert.deepEqual(lease.resourceNames, ['legate-status-blue']);
  const dep = one(objs, 'Deployment') as unknown as {
    spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
  };
  const args = dep.spec.template.spec.containers[0]!.args.join(' ');
  assert.match(args, /--lease-name legate-status-blue/);
  assert.match(args, /--publish-address lb\.example\.com/);
  assert.match(args, /--namespace a --namespace b/);
  for (const kind of ['PodDisruptionBudget', 'IngressClass']) {
    assert.equal(objs.filter((o) => o.kind === kind).length, 0, kind);
  }
  assert.equal(objs.filter((o) => o.kind === 'Service').length, 1);
});
