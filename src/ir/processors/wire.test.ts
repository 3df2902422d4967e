import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToken } from '../../util/http-token.js';
import {
  addedNameError,
  fieldPath,
  headerAddErrors,
  headerNameError,
  headerRemoveErrors,
  headerValueError,
  hostRewriteError,
  quote,
  targetTextError,
} from './wire.js';

const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

test('header names: exactly the RFC 9110 tchars make a token', () => {
  for (let c = 0; c < 0x180; c++) {
    const ch = String.fromCharCode(c);
    const expected = tchars.includes(ch);
    assert.equal(isToken(`x${ch}y`), expected, `U+${c.toString(16)}`);
    assert.equal(headerNameError(`x${ch}y`) === null, expected, `U+${c.toString(16)}`);
  }
  assert.equal(isToken(''), false);
  assert.equal(headerNameError(''), 'header name is empty');
});

test('header name findings name the character and its offset', () => {
  assert.equal(
    headerNameError('x-a(b'),
    'header name contains "(" (U+0028) at offset 3, which an RFC 9110 token does not allow',
  );
  assert.equal(
    headerNameError('x\nb'),
    'header name contains U+000A at offset 1, which an RFC 9110 token does not allow',
  );
  assert.match(headerNameError(':authority') ?? '', /U\+003A\) at offset 0/);
  assert.match(headerNameError('x bad') ?? '', /U\+0020 at offset 1/);
  assert.match(headerNameError('café') ?? '', /U\+00E9 at offset 3/);
});

test('header values: HTAB, SP, visible ASCII and obs-text pass; other controls and > U+00FF fail', () => {
  for (let c = 0; c < 0x110; c++) {
    const ok = c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff);
    const err = headerValueError(`a${String.fromCharCode(c)}`);
    assert.equal(err === null, ok, `U+${c.toString(16)}: ${err}`);
    if (!ok)
      assert.match(err ?? '', new RegExp(`U\\+${c.toString(16).toUpperCase().padStart(4, '0')} at offset 1`));
  }
  assert.equal(headerValueError(''), null);
  assert.equal(headerValueError('a\tb c'), null);
  assert.equal(headerValueError('ab\r\nx: y'), 'value contains a control character (U+000D at offset 2)');
  // U+010A would be written as its low byte, LF, by a latin1 encoder.
  assert.match(headerValueError('a\u010ab') ?? '', /beyond U\+00FF/);
  assert.match(headerValueError('😀') ?? '', /U\+D83D at offset 0/);
});

test('added names Legate owns are refused; Host only on requests', () => {
  for (const name of [
    'Content-Length',
    'transfer-encoding',
    'Connection',
    'keep-alive',
    'upgrade',
    'TE',
    'trailer',
    'proxy-connection',
  ]) {
    assert.match(addedNameError(name, 'request') ?? '', /Legate sets itself/, name);
    assert.match(addedNameError(name, 'response') ?? '', /Legate sets itself/, name);
  }
  assert.match(addedNameError('Host', 'request') ?? '', /host_rewrite/);
  assert.equal(addedNameError('host', 'response'), null);
  assert.equal(addedNameError('x-forwarded-for', 'request'), null);
  assert.equal(addedNameError('content-type', 'response'), null);
});

test('request-target text: printable ASCII without spaces', () => {
  for (const ok of ['/', '', '/a/b?c=d', '/%20x/', '/\\1/x', "/~!$&'()*+,;=:@"])
    assert.equal(targetTextError(ok), null, ok);
  assert.equal(targetTextError('/a b/'), 'contains a space at offset 2 (percent-encode it as %20)');
  assert.equal(targetTextError('/a\tb'), 'contains a control character (U+0009 at offset 2)');
  assert.equal(targetTextError('/a\x7f'), 'contains a control character (U+007F at offset 2)');
  assert.match(targetTextError('/café') ?? '', /non-ASCII character \(U\+00E9 at offset 4\)/);
  assert.match(targetTextError('/a\u00a0b') ?? '', /U\+00A0 at offset 2/);
});

test('host_rewrite: non-empty host[:port]', () => {
  for (const ok of ['example.com', 'example.com:8080', '[::1]:80', 'a-b.c'])
    assert.equal(hostRewriteError(ok), null, ok);
  assert.match(hostRewriteError('') ?? '', /^is empty/);
  assert.match(hostRewriteError('a b') ?? '', /space at offset 1/);
  assert.match(hostRewriteError('a\r\nx: y') ?? '', /control character \(U\+000D at offset 1\)/);
  for (const [bad, at] of [
    ['a/b', 1],
    ['a?b', 1],
    ['a#', 1],
    ['user@a', 4],
  ] as const)
    assert.equal(
      hostRewriteError(bad),
      `contains "${bad[at]}" at offset ${at}; it must be host[:port], with no path, query, fragment or user info`,
    );
  assert.match(hostRewriteError('bücher.example') ?? '', /non-ASCII/);
});

test('quote and fieldPath keep findings printable', () => {
  assert.equal(quote('a"b\\c\r\n\t\x00\x7f\u20ac'), '"a\\"b\\\\c\\r\\n\\t\\u0000\\u007f\\u20ac"');
  assert.equal(fieldPath('add_request_headers', 'X-A'), 'add_request_headers.X-A');
  assert.equal(fieldPath('add_request_headers', 'x\nb'), 'add_request_headers["x\\nb"]');
});

test('headerAddErrors: one finding per bad header, in key order, naming the field', () => {
  const findings = headerAddErrors(
    'add_request_headers',
    {
      'x-good': { value: 'fine\tvalue' },
      'x-bad': { value: 'a\nb' },
      'x bad': { value: 'ok' },
      host: { value: 'example.com' },
    },
    'request',
  );
  assert.deepEqual(findings, [
    {
      field: 'add_request_headers.x-bad',
      message: 'add_request_headers.x-bad: value contains a control character (U+000A at offset 1)',
    },
    {
      field: 'add_request_headers["x bad"]',
      message:
        'add_request_headers["x bad"]: header name contains U+0020 at offset 1, which an RFC 9110 token does not allow',
    },
    {
      field: 'add_request_headers.host',
      message:
        'add_request_headers.host: Host cannot be added; set host_rewrite to change the Host sent upstream',
    },
  ]);
  assert.deepEqual(headerAddErrors('add_response_headers', { host: { value: 'x' } }, 'response'), []);
});

test('headerRemoveErrors: index and quoted name', () => {
  assert.deepEqual(headerRemoveErrors('remove_response_headers', ['server', 'x\u0000y', '']), [
    {
      field: 'remove_response_headers[1]',
      message:
        'remove_response_headers[1] "x\\u0000y": header name contains U+0000 at offset 1, which an RFC 9110 token does not allow',
    },
    { field: 'remove_response_headers[2]', message: 'remove_response_headers[2] "": header name is empty' },
  ]);
});
