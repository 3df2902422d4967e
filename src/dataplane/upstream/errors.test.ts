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
  assert.equal(
    classifyUpstreamError(new errors.ResponseContentLengthMismatchError(), true),
    'GW_ERR_UPSTREAM_PROTOCOL',
  );
  assert.equal(
    classifyUpstreamError(new errors.HeadersTimeoutError(), true),
    'GW_ERR_UPSTREAM_HEADERS_TIMEOUT',
  );
  assert.equal(classifyUpstreamError(new errors.BodyTimeoutError(), true), 'GW_ERR_UPSTREAM_TIMEOUT');
});

test('a response head over max_response_headers_kb is 502 "response too large", not a protocol error', () => {
  assert.equal(
    classifyUpstreamError(new errors.HeadersOverflowError(), true),
    'GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE',
  );
  assert.equal(
    classifyUpstreamError(new errors.HeadersOverflowError(), true, true),
    'GW_ERR_UPSTREAM_RESPONSE_TOO_LARGE',
  );
});

test('a disconnect before any response byte is 503 UF (Envoy: disconnect/reset before headers); after the response started, 502 UR', () => {
  const closed = new errors.SocketError('other side closed');
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(classifyUpstreamError(closed, true, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
  assert.equal(classifyUpstreamError(reset, true, false), 'GW_ERR_UPSTREAM_CONNECT_FAILURE');
  assert.equal(classifyUpstreamError(closed, true, true), 'GW_ERR_UPSTREAM_RESET');
  assert.equal(classifyUpstreamError(reset, true, true), 'GW_ERR_UPSTREAM_RESET');
  // Whatever the phase, a response that does not parse is a protocol error.
  const parse = Object.assign(new Error('Expected HTTP/'), {
    name: 'HTTPParserError',
    code: 'HPE_INVALID_CONSTANT',
  });
  assert.equal(classifyUpstreamError(parse, true, false), 'GW_ERR_UPSTREAM_PROTOCOL');
});
