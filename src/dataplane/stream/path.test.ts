import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasEscapedSlash, hostOf, normalizeRequestPath, type PathOptions, splitTarget } from './path.js';

const envoyDefaults: PathOptions = {
  normalizePath: true,
  mergeSlashes: false,
  rejectRequestsWithEscapedSlashes: false,
};

test('normalize_path: dot segments, unreserved escapes, backslashes, raw bytes', () => {
  const cases: Array<[string, string]> = [
    ['/a/b/c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/..', '/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E./b', '/b'],
    ['/a/.%2e/b', '/b'],
    ['/%7Euser/%41%62c', '/~user/Abc'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb/../c', '/c'],
    ['/a%20b', '/a%20b'],
    ['/a%zzb', '/a%zzb'],
    ['/trailing%', '/trailing%'],
    ['/a\\..\\b', '/b'],
    ['/a\\b', '/a/b'],
    ['/caf\u00e9', '/caf%E9'],
    ['/a//b', '/a//b'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a/..b/c', '/a/..b/c'],
    ['/', '/'],
    // An empty segment is a segment: `..` after `//` removes it (RFC 3986, as Envoy/Chromium do).
    ['/public//../private/x', '/public/private/x'],
    ['/public/\\..\\private', '/public/private'],
    // `..;` (path parameters) is not a dot segment; `%00` and overlong UTF-8 stay escaped.
    ['/a/..;/b', '/a/..;/b'],
    ['/a/%00/../b', '/a/b'],
    ['/a/%c0%ae%c0%ae/b', '/a/%c0%ae%c0%ae/b'],
    ['/a/%252e%252e/b', '/a/%252e%252e/b'],
    ['/%70rivate/x', '/private/x'],
  ];
  for (const [input, want] of cases) {
    assert.equal(normalizeRequestPath(input, envoyDefaults), want, input);
  }
});

test('a clean path is returned as the same string (no work)', () => {
  const p = '/api/v1/users/123';
  assert.equal(normalizeRequestPath(p, envoyDefaults), p);
});

test('merge_slashes collapses runs of slashes, after dot-segment removal', () => {
  const opts = { ...envoyDefaults, mergeSlashes: true };
  assert.equal(normalizeRequestPath('//a///b//', opts), '/a/b/');
  assert.equal(normalizeRequestPath('/a//../b', opts), '/a/b');
  assert.equal(normalizeRequestPath('/a//b', { ...opts, normalizePath: false }), '/a/b');
});

test('normalize_path off keeps the path as sent', () => {
  const opts = { ...envoyDefaults, normalizePath: false };
  assert.equal(normalizeRequestPath('/a/../b/%41', opts), '/a/../b/%41');
});

test('reject_requests_with_escaped_slashes refuses %2F and %5C in any case', () => {
  const opts = { ...envoyDefaults, rejectRequestsWithEscapedSlashes: true };
  assert.equal(normalizeRequestPath('/a%2Fb', opts), null);
  assert.equal(normalizeRequestPath('/a%2fb', opts), null);
  assert.equal(normalizeRequestPath('/a%5cb', opts), null);
  assert.equal(normalizeRequestPath('/a%5Cb', opts), null);
  assert.equal(normalizeRequestPath('/a%25b', opts), '/a%25b');
  assert.equal(hasEscapedSlash('/x%2'), false);
});

test('a path not starting with / is refused', () => {
  assert.equal(normalizeRequestPath('a/b', envoyDefaults), null);
});

test('splitTarget handles origin form, absolute form, fragments and garbage', () => {
  assert.deepEqual(splitTarget('/a/b?x=1&y'), { path: '/a/b', query: 'x=1&y', authority: null });
  assert.deepEqual(splitTarget('/a'), { path: '/a', query: '', authority: null });
  assert.deepEqual(splitTarget('/a#frag'), { path: '/a', query: '', authority: null });
  assert.deepEqual(splitTarget('HTTP://Example.com:8080/p?q'), {
    path: '/p',
    query: 'q',
    authority: 'Example.com:8080',
  });
  assert.deepEqual(splitTarget('http://example.com'), { path: '/', query: '', authority: 'example.com' });
  assert.equal(splitTarget('*'), null);
  assert.equal(splitTarget('ftp://x/y'), null);
});

test('hostOf lower-cases and strips the port, keeping IPv6 brackets', () => {
  assert.equal(hostOf('Example.COM:8080'), 'example.com');
  assert.equal(hostOf('example.com'), 'example.com');
  assert.equal(hostOf('[::1]:443'), '[::1]');
  assert.equal(hostOf('[::1]'), '[::1]');
  assert.equal(hostOf(''), '');
});
