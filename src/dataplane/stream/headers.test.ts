import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../ir/processors/module.js';
import type { IrSettings } from '../../ir/types.js';
import {
  buildRequestHead,
  buildResponseHead,
  connectionTokens,
  headValue,
  headValues,
  type RequestHeadInput,
  trustedClientAddress,
  xffEntryFromRight,
} from './headers.js';

const settings: IrSettings = { ...DEFAULT_SETTINGS, listenerIdleTimeoutMs: 0 };

function input(over: Partial<RequestHeadInput> = {}): RequestHeadInput {
  return {
    headers: { host: 'example.com', accept: '*/*' },
    authority: 'example.com',
    peerAddress: '10.0.0.7',
    scheme: 'http',
    upstreamHost: 'example.com',
    originalPath: null,
    removes: null,
    adds: null,
    ...over,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('hop-by-hop request headers and the headers Connection names are stripped', () => {
  const head = buildRequestHead(
    input({
      headers: {
        host: 'example.com',
        connection: 'keep-alive, X-Secret, Upgrade',
        'x-secret': 'no',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        te: 'gzip',
        expect: '100-continue',
        'x-kept': 'yes',
      },
    }),
    settings,
  );
  for (const gone of ['connection', 'x-secret', 'keep-alive', 'proxy-connection', 'transfer-encoding']) {
    assert.equal(headValue(head, gone), undefined, gone);
  }
  assert.equal(headValue(head, 'upgrade'), undefined);
  assert.equal(headValue(head, 'te'), undefined);
  assert.equal(headValue(head, 'expect'), undefined);
  assert.equal(headValue(head, 'x-kept'), 'yes');
});

test('TE: trailers is the one TE value forwarded', () => {
  const head = buildRequestHead(input({ headers: { host: 'a', te: 'Trailers' } }), settings);
  assert.equal(headValue(head, 'te'), 'trailers');
});

test('Host: the upstream host is sent exactly once', () => {
  const head = buildRequestHead(input({ upstreamHost: 'internal.svc' }), settings);
  assert.deepEqual(headValues(head, 'host'), ['internal.svc']);
});

test('X-Forwarded-For: the peer is appended at the edge, untouched otherwise', () => {
  let head = buildRequestHead(input(), settings);
  assert.equal(headValue(head, 'x-forwarded-for'), '10.0.0.7');
  head = buildRequestHead(input({ headers: { 'x-forwarded-for': '1.1.1.1, 2.2.2.2' } }), settings);
  assert.equal(headValue(head, 'x-forwarded-for'), '1.1.1.1, 2.2.2.2, 10.0.0.7');
  head = buildRequestHead(input({ headers: { 'x-forwarded-for': '1.1.1.1' } }), {
    ...settings,
    useRemoteAddress: false,
  });
  assert.equal(headValue(head, 'x-forwarded-for'), '1.1.1.1');
  head = buildRequestHead(input(), { ...settings, useRemoteAddress: false });
  assert.equal(headValue(head, 'x-forwarded-for'), undefined);
});

test('X-Forwarded-Proto and -Host: client values trusted only with trusted hops or off the edge', () => {
  const spoof = { host: 'example.com', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.com' };
  let head = buildRequestHead(input({ headers: spoof }), settings);
  assert.equal(headValue(head, 'x-forwarded-proto'), 'http');
  assert.equal(headValue(head, 'x-forwarded-host'), 'example.com');
  head = buildRequestHead(input({ headers: spoof }), { ...settings, xffNumTrustedHops: 1 });
  assert.equal(headValue(head, 'x-forwarded-proto'), 'https');
  assert.equal(headValue(head, 'x-forwarded-host'), 'evil.com, example.com');
  head = buildRequestHead(input({ headers: spoof }), { ...settings, useRemoteAddress: false });
  assert.equal(headValue(head, 'x-forwarded-proto'), 'https');
  assert.deepEqual(headValues(head, 'x-forwarded-proto').length, 1);
});

test('x-request-id: generated unless preserve_external_request_id and present', () => {
  const withId = input({ headers: { host: 'a', 'x-request-id': 'client-id' } });
  const a = headValue(buildRequestHead(withId, settings), 'x-request-id');
  assert.match(a ?? '', UUID);
  const b = headValue(buildRequestHead(input(), settings), 'x-request-id');
  assert.match(b ?? '', UUID);
  assert.notEqual(a, b);
  const kept = buildRequestHead(withId, { ...settings, preserveExternalRequestId: true });
  assert.deepEqual(headValues(kept, 'x-request-id'), ['client-id']);
  const gen = buildRequestHead(input(), { ...settings, preserveExternalRequestId: true });
  assert.match(headValue(gen, 'x-request-id') ?? '', UUID);
});

test('x-envoy-original-path is set on rewrite, replaces a client value, and obeys suppress_envoy_headers', () => {
  const inp = input({
    headers: { host: 'a', 'x-envoy-original-path': '/spoof' },
    originalPath: '/api/x?y=1',
  });
  assert.deepEqual(headValues(buildRequestHead(inp, settings), 'x-envoy-original-path'), ['/api/x?y=1']);
  const suppressed = buildRequestHead(inp, { ...settings, suppressEnvoyHeaders: true });
  assert.equal(headValue(suppressed, 'x-envoy-original-path'), undefined);
  assert.equal(headValue(buildRequestHead(input(), settings), 'x-envoy-original-path'), undefined);
});

test('route removals then additions: append keeps, replace overrides', () => {
  const head = buildRequestHead(
    input({
      headers: { host: 'a', 'x-a': 'client-a', 'x-b': 'client-b', 'x-gone': '1', cookie: 'c=1' },
      removes: ['x-gone', 'x-forwarded-for'],
      adds: [
        { name: 'x-a', value: 'route-a', append: true },
        { name: 'x-b', value: 'route-b', append: false },
        { name: 'x-new', value: 'n', append: true },
      ],
    }),
    settings,
  );
  assert.deepEqual(headValues(head, 'x-a'), ['client-a', 'route-a']);
  assert.deepEqual(headValues(head, 'x-b'), ['route-b']);
  assert.deepEqual(headValues(head, 'x-new'), ['n']);
  assert.equal(headValue(head, 'x-gone'), undefined);
  assert.equal(headValue(head, 'x-forwarded-for'), undefined);
  assert.equal(headValue(head, 'cookie'), 'c=1');
});

test('response: hop-by-hop stripped, server overwritten when configured, route add/remove applied', () => {
  // undici's raw list: names as the upstream sent them, values as Buffers, repeats kept.
  const upstream = [
    'Connection',
    'keep-alive, X-Internal',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'X-Internal',
    'secret',
    'Server',
    'origin/1.0',
    'Set-Cookie',
    'a=1',
    'Content-Type',
    'text/plain',
    'set-cookie',
    'b=2',
    'X-Drop',
    '1',
    'X-Replace',
    'old',
    'X-Latin1',
    'caf\u00e9',
  ];
  const target = {
    removeResponseHeaders: ['x-drop'],
    addResponseHeaders: [
      { name: 'x-replace', value: 'new', append: false },
      { name: 'x-added', value: 'yes', append: true },
    ],
  };
  const head = buildResponseHead(upstream, target, 'legate');
  for (const gone of ['connection', 'keep-alive', 'transfer-encoding', 'x-internal', 'x-drop']) {
    assert.equal(headValue(head, gone), undefined, gone);
  }
  assert.deepEqual(headValues(head, 'server'), ['legate']);
  assert.deepEqual(headValues(head, 'set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(headValues(head, 'x-replace'), ['new']);
  assert.equal(headValue(head, 'x-added'), 'yes');
  assert.equal(headValue(head, 'content-type'), 'text/plain');
  // Bytes pass through unchanged: latin1 in, latin1 out (node:http writes heads as latin1).
  assert.equal(headValue(head, 'x-latin1'), 'caf\u00e9');
  for (let i = 0; i < head.length; i += 2) assert.equal(head[i], head[i].toLowerCase());
  const passthrough = buildResponseHead(
    upstream,
    { removeResponseHeaders: null, addResponseHeaders: null },
    null,
  );
  assert.equal(headValue(passthrough, 'server'), 'origin/1.0');
  assert.equal(headValue(passthrough, 'x-internal'), undefined);
  assert.equal(headValue(passthrough, 'x-drop'), '1');
});

test('response: a Connection header without extra names keeps every end-to-end header', () => {
  const upstream = ['Date', 'x', 'Connection', 'close', 'Content-Length', '6'];
  const head = buildResponseHead(upstream, { removeResponseHeaders: null, addResponseHeaders: null }, null);
  assert.deepEqual(head, ['date', 'x', 'content-length', '6']);
});

test('connectionTokens ignores the connection options and allocates nothing for them', () => {
  assert.equal(connectionTokens('keep-alive'), null);
  assert.equal(connectionTokens('Close'), null);
  assert.equal(connectionTokens(undefined), null);
  assert.deepEqual(connectionTokens('close, X-Foo ,  x-bar'), ['x-foo', 'x-bar']);
});

test('xffEntryFromRight: counts from the right, trims, and takes IP addresses only', () => {
  const xff = ' 1.1.1.1 ,2.2.2.2,  2001:db8::1 ';
  assert.equal(xffEntryFromRight(xff, 1), '2001:db8::1');
  assert.equal(xffEntryFromRight(xff, 2), '2.2.2.2');
  assert.equal(xffEntryFromRight(xff, 3), '1.1.1.1');
  assert.equal(xffEntryFromRight(xff, 4), null);
  assert.equal(xffEntryFromRight('1.1.1.1', 1), '1.1.1.1');
  assert.equal(xffEntryFromRight('1.1.1.1', 2), null);
  assert.equal(xffEntryFromRight('', 1), null);
  assert.equal(xffEntryFromRight('1.1.1.1, unknown', 1), null);
  assert.equal(xffEntryFromRight('1.1.1.1:80', 1), null);
  assert.equal(xffEntryFromRight('1.1.1.1,,', 1), null);
});

test("trustedClientAddress follows Envoy's use_remote_address / xff_num_trusted_hops rules", () => {
  const peer = '10.0.0.7';
  const xff = '6.6.6.6, 1.1.1.1, 2.2.2.2';
  const cases: Array<[boolean, number, string | undefined, string]> = [
    // use_remote_address: true → Nth from the right, N = 0 → the peer
    [true, 0, xff, peer],
    [true, 1, xff, '2.2.2.2'],
    [true, 2, xff, '1.1.1.1'],
    [true, 3, xff, '6.6.6.6'],
    [true, 4, xff, peer],
    [true, 1, undefined, peer],
    // use_remote_address: false → (N+1)th from the right
    [false, 0, xff, '2.2.2.2'],
    [false, 1, xff, '1.1.1.1'],
    [false, 3, xff, peer],
    [false, 0, undefined, peer],
    [false, 0, 'garbage', peer],
  ];
  for (const [useRemoteAddress, xffNumTrustedHops, value, want] of cases) {
    assert.equal(
      trustedClientAddress(value, peer, { useRemoteAddress, xffNumTrustedHops }),
      want,
      `use_remote_address ${useRemoteAddress}, hops ${xffNumTrustedHops}, xff ${value}`,
    );
  }
});

test('x-envoy-external-address carries the trusted client address and cannot be spoofed', () => {
  const headers = {
    host: 'a',
    'x-forwarded-for': '6.6.6.6, 1.1.1.1',
    'x-envoy-external-address': '6.6.6.6',
  };
  let head = buildRequestHead(input({ headers }), settings);
  assert.deepEqual(headValues(head, 'x-envoy-external-address'), ['10.0.0.7']);
  assert.equal(headValue(head, 'x-forwarded-for'), '6.6.6.6, 1.1.1.1, 10.0.0.7');
  head = buildRequestHead(input({ headers }), { ...settings, xffNumTrustedHops: 1 });
  assert.deepEqual(headValues(head, 'x-envoy-external-address'), ['1.1.1.1']);
  head = buildRequestHead(input({ headers }), { ...settings, useRemoteAddress: false });
  assert.deepEqual(headValues(head, 'x-envoy-external-address'), ['1.1.1.1']);
  assert.equal(headValue(head, 'x-forwarded-for'), '6.6.6.6, 1.1.1.1');
  head = buildRequestHead(input({ headers }), { ...settings, suppressEnvoyHeaders: true });
  assert.deepEqual(headValues(head, 'x-envoy-external-address'), ['10.0.0.7']);
  head = buildRequestHead(input({ headers, removes: ['x-envoy-external-address'] }), settings);
  assert.equal(headValue(head, 'x-envoy-external-address'), undefined);
});

test('client x-envoy-* and x-legate-* request headers are dropped; route additions of them are kept', () => {
  const head = buildRequestHead(
    input({
      headers: {
        host: 'a',
        'x-envoy-internal': 'true',
        'x-envoy-retry-on': '5xx',
        'x-envoy-upstream-rq-timeout-ms': '1',
        'x-envoy-original-path': '/spoof',
        'x-legate-response-flags': 'UF',
        'x-envoyish': 'kept',
        'x-env': 'kept',
      },
      adds: [{ name: 'x-envoy-from-route', value: 'r', append: true }],
    }),
    settings,
  );
  for (let i = 0; i < head.length; i += 2) {
    const name = head[i];
    if (name.startsWith('x-envoy-') || name.startsWith('x-legate-')) {
      assert.ok(['x-envoy-external-address', 'x-envoy-from-route'].includes(name), `${name} forwarded`);
    }
  }
  assert.equal(headValue(head, 'x-envoyish'), 'kept');
  assert.equal(headValue(head, 'x-env'), 'kept');
  assert.equal(headValue(head, 'x-envoy-from-route'), 'r');
});

test('Connection cannot make Legate drop or skip the headers it owns; it drops the others it lists', () => {
  const head = buildRequestHead(
    input({
      headers: {
        host: 'example.com',
        connection: 'close, x-forwarded-for, x-forwarded-proto, host, authorization, proxy-authorization',
        'x-forwarded-for': '1.1.1.1',
        authorization: 'Bearer t',
        'proxy-authorization': 'Basic p',
      },
    }),
    settings,
  );
  assert.equal(headValue(head, 'x-forwarded-for'), '1.1.1.1, 10.0.0.7');
  assert.equal(headValue(head, 'x-forwarded-proto'), 'http');
  assert.deepEqual(headValues(head, 'host'), ['example.com']);
  assert.equal(headValue(head, 'authorization'), undefined);
  assert.equal(headValue(head, 'proxy-authorization'), undefined);
});

test('Proxy-Authorization is end-to-end for a gateway (RFC 9110 does not list it as hop-by-hop)', () => {
  const head = buildRequestHead(
    input({ headers: { host: 'a', 'proxy-authorization': 'Basic p' } }),
    settings,
  );
  assert.equal(headValue(head, 'proxy-authorization'), 'Basic p');
});
