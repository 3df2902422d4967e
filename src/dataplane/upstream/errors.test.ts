import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyUpstreamError } from './errors.js';
import { UpstreamSocketError } from './http1-connection.js';
import { UpstreamProtocolError } from './http1-response.js';

test('failures before a connection are connect failures (503 UF); connect timeouts have their own code', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(classifyUpstreamError(refused, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
  assert.equal(
    classifyUpstreamError(new UpstreamSocketError('timeout', 'UPSTREAM_CONNECT_TIMEOUT'), false),
    'GW_ERR_UPSTREAM_CONNECT_TIMEOUT',
  );
  assert.equal(
    classifyUpstreamError(new UpstreamSocketError('closed', 'UPSTREAM_CLOSED'), false),
    'GW_ERR_UPSTREAM_CONNECT_FAILURE',
  );
});

test('after the request went out: resets are 502 UR, bad responses 502 UPE', () => {
  assert.equal(
    classifyUpstreamError(new UpstreamSocketError('closed', 'UPSTREAM_CLOSED'), true),
    'GW_ERR_UPSTREAM_RESET',
  );
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(classifyUpstreamError(reset, true), 'GW_ERR_UPSTREAM_RESET');
  assert.equal(
    classifyUpstreamError(new UpstreamProtocolError('malformed status line'), true),
    'GW_ERR_UPSTREAM_PROTOCOL',
  );
  assert.equal(
    classifyUpstreamError(new UpstreamProtocolError('too large', 'UPSTREAM_HEAD_TOO_LARGE'), true),
    'GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE',
  );
});

test('a close or reset before any response byte is 503 UF (Envoy: "reset before headers"); after one, 502 UR', () => {
  const closed = new UpstreamSocketError('closed', 'UPSTREAM_CLOSED');
  assert.equal(classifyUpstreamError(closed, true, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
  assert.equal(classifyUpstreamError(closed, true, true), 'GW_ERR_UPSTREAM_RESET');
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(classifyUpstreamError(reset, true, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
});
