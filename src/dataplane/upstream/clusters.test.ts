import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cluster as irCluster } from '../../../test/integration/dataplane-harness.js';
import { DEFAULT_SETTINGS } from '../../ir/processors/module.js';
import type { IrCluster, IrSettings } from '../../ir/types.js';
import type { Snapshot } from '../../snapshot/types.js';
import { ClusterRegistry } from './clusters.js';

function settings(maxResponseHeadersKb: number): IrSettings {
  return { ...DEFAULT_SETTINGS, maxResponseHeadersKb };
}

/** Only the fields `sync` reads. */
function snap(version: number, clusters: ReadonlyMap<string, IrCluster>, s: IrSettings): Snapshot {
  return { version, clusters, settings: s } as unknown as Snapshot;
}

test('max_response_headers_kb reaches the pools; the default applies before any settings', async (t) => {
  const reg = new ClusterRegistry();
  t.after(() => reg.close({ force: true }));
  reg.update(new Map([['c', irCluster('c', [1])]]));
  assert.equal(reg.get('c')!.pools[0].maxHeaderBytes, 60 * 1024);
  reg.update(new Map([['d', irCluster('d', [2])]]), settings(8));
  assert.equal(reg.get('d')!.pools[0].maxHeaderBytes, 8 * 1024);
});

test('a changed limit rebuilds the pools of every live cluster, even with the same cluster map', async (t) => {
  const reg = new ClusterRegistry();
  t.after(() => reg.close({ force: true }));
  const clusters = new Map([
    ['a', irCluster('a', [1, 2])],
    ['b', irCluster('b', [3])],
  ]);
  reg.update(clusters, settings(60));
  const before = reg.get('a')!.pools.slice();
  // The root hands over the map first (no settings); the first request's sync brings them.
  reg.update(clusters);
  assert.deepEqual(reg.get('a')!.pools, before, 'no settings given: pools kept');
  reg.sync(snap(1, clusters, settings(60)));
  assert.deepEqual(reg.get('a')!.pools, before, 'same limit: pools kept');
  reg.sync(snap(2, clusters, settings(4)));
  const after = reg.get('a')!.pools;
  assert.equal(after.length, 2);
  for (let i = 0; i < after.length; i++) {
    assert.notEqual(after[i], before[i]);
    assert.equal(after[i].maxHeaderBytes, 4096);
    assert.equal(before[i].closing, true, 'the old pool drains');
  }
  assert.equal(reg.get('b')!.pools[0].maxHeaderBytes, 4096);
  // Clusters created later, and fresh retired ones for old snapshots, take the current limit too.
  const later = irCluster('z', [9]);
  assert.equal(reg.resolve(later).pools[0].maxHeaderBytes, 4096);
});
