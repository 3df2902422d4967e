import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../ir/processors/module.js';
import { listenerLimits } from './index.js';
import { HTTP1_DEFAULTS } from './listeners/http1.js';

test('listenerLimits: the Module settings become listener limits; explicit http options win', () => {
  const settings = {
    ...DEFAULT_SETTINGS,
    requestHeadersTimeoutMs: 1111,
    requestTimeoutMs: 2222,
    listenerIdleTimeoutMs: 3333,
    maxRequestHeadersKb: 8,
    maxConnections: 44,
    maxRequestsPerConnection: 55,
  };
  assert.deepEqual(listenerLimits(settings), {
    headersTimeoutMs: 1111,
    requestTimeoutMs: 2222,
    keepAliveTimeoutMs: 3333,
    maxHeaderBytes: 8192,
    maxConnections: 44,
    maxRequestsPerConnection: 55,
  });
  assert.deepEqual(listenerLimits(settings, { keepAliveTimeoutMs: 10, maxHeaderBytes: 20 }), {
    headersTimeoutMs: 1111,
    requestTimeoutMs: 2222,
    keepAliveTimeoutMs: 10,
    maxHeaderBytes: 20,
    maxConnections: 44,
    maxRequestsPerConnection: 55,
  });
  assert.deepEqual(listenerLimits(null), HTTP1_DEFAULTS);
});
