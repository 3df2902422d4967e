/**
 * Measures parse + validate + normalise for 10,000 Mappings (one file, and 100 files of 100).
 * Skipped by default (timing depends on the machine); run with LEGATE_PERF=1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../sources/file/parse.js';
import { buildResourceSet } from './build.js';
import type { SourceObject } from './types.js';

const doc = (i: number) =>
  i % 2
    ? `apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata:\n  name: m-${i}\n  namespace: ns-${i % 10}\nspec:\n  prefix: /svc-${i}/\n  service: svc-${i}.ns:8080\n  timeout_ms: 5000\n  headers:\n    x-tenant: t${i}\n`
    : `apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  name: m-${i}\n  namespace: ns-${i % 10}\nspec:\n  hostname: "*"\n  prefix: /svc-${i}/\n  service: svc-${i}.ns:8080\n  timeout_ms: 5000\n`;

test('10,000 Mappings: parse, validate, normalise', { skip: process.env.LEGATE_PERF !== '1' }, () => {
  const docs = Array.from({ length: 10_000 }, (_, i) => doc(i));
  const files = Array.from({ length: 100 }, (_, f) => docs.slice(f * 100, f * 100 + 100).join('---\n'));
  for (const [label, texts] of [
    ['one file', [docs.join('---\n')]],
    ['100 files', files],
  ] as const) {
    const t0 = performance.now();
    const objects: SourceObject[] = [];
    texts.forEach((t, i) => {
      for (const o of parseConfigText(t, `f${i}.yaml`, 'file').objects) objects.push(o);
    });
    const t1 = performance.now();
    const rs = buildResourceSet([{ source: 'file', objects, problems: [] }], { ambassadorId: 'default' });
    const t2 = performance.now();
    assert.equal(rs.mappings.length, 10_000);
    console.log(`${label}: parse ${(t1 - t0).toFixed(0)} ms, validate+normalise ${(t2 - t1).toFixed(0)} ms`);
  }
});
