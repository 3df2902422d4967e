import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from 'undici';
import { classifyUpstreamError } from './errors.js';

test('failures before a connection are connect failures (503 UF); connect timeouts have their own code', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(classifyUpstreamError(refused, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
  assert.equal(
    classifyUpstreamError(new errors.ConnectTimeoutError(), false),
    'GW_ERR_UPSTREAM_CONNECT_TIMEOUT',
  );
  assert.equal(
    classifyUpstreamError(new errors.SocketError('other side closed'), false),
    'GW_ERR_UPSTREAM_CONNECT_FAILURE',
  );
});

test('after the request went out: resets are 502 UR, bad responses 502 UPE', () => {
  assert.equal(
    classifyUpstreamError(new errors.SocketError('other side closed'), true),
    'GW_ERR_UPSTREAM_RESET',
  );
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(classifyUpstreamError(reset, true), 'GW_ERR_UPSTREAM_RESET');
  const parse = Object.assign(new Error('Expected HTTP/'), {
    name: 'HTTPParserError',
    code: 'HPE_INVALID_CONSTANT',
  });
  assert.equal(classifyUpstreamError(parse, true), 'GW_ERR_UPSTREAM_PROTOCOL');
  assert.equal(classifyUpstreamError(new errors.HeadersOverflowError(), true), 'GW_ERR_UPSTREAM_PROTOCOL');
  assert.equal(classifyUpstreamError(new errors.HeadersTimeoutError(), true), 'GW_ERR_UPSTREAM_TIMEOUT');
});
