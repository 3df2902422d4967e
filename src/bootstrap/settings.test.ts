import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../errors/gateway-error.js';
import { parseServeArgs } from './settings.js';

test('--config or --kubernetes is required; --kubernetes alone needs no directory', () => {
  assert.throws(() => parseServeArgs([], {}), GatewayError);
  const s = parseServeArgs(['--kubernetes'], {});
  assert.equal(s.configDir, undefined);
  assert.deepEqual(s.kubernetes?.namespaces, []);
  assert.equal(s.kubernetes?.kubeconfig, undefined);
  assert.equal(s.kubernetes?.updateStatus, true);
  assert.equal(s.kubernetes?.leaseName, 'legate-status-default');
  assert.equal(s.kubernetes?.leaseNamespace, 'default');
  assert.equal(parseServeArgs(['--config', 'd'], {}).kubernetes, undefined);
});

test('--namespace repeats and takes comma lists; both sources may be combined', () => {
  const s = parseServeArgs(
    [
      '--config',
      'dir',
      '--kubernetes',
      '--kubeconfig',
      '/k',
      '--namespace',
      'a,b',
      '--namespace',
      'c',
      '--namespace',
      'a',
    ],
    { POD_NAMESPACE: 'gw' },
  );
  assert.equal(s.configDir, 'dir');
  assert.equal(s.kubernetes?.kubeconfig, '/k');
  assert.deepEqual(s.kubernetes?.namespaces, ['a', 'b', 'c']);
  assert.equal(s.kubernetes?.leaseNamespace, 'gw');
});

test('Kubernetes flags without --kubernetes are refused', () => {
  assert.throws(
    () => parseServeArgs(['--config', 'd', '--namespace', 'a'], {}),
    /--namespace needs --kubernetes/,
  );
});

test('publish address: flag, else a concrete listen host, else POD_IP, else 127.0.0.1', () => {
  assert.equal(
    parseServeArgs(['--kubernetes', '--publish-address', 'gw.example.com'], {}).kubernetes?.publishAddress,
    'gw.example.com',
  );
  assert.equal(
    parseServeArgs(['--kubernetes', '--listen', '10.1.2.3:80'], { POD_IP: '10.9.9.9' }).kubernetes
      ?.publishAddress,
    '10.1.2.3',
  );
  assert.equal(
    parseServeArgs(['--kubernetes'], { POD_IP: '10.9.9.9' }).kubernetes?.publishAddress,
    '10.9.9.9',
  );
  assert.equal(parseServeArgs(['--kubernetes'], {}).kubernetes?.publishAddress, '127.0.0.1');
});
