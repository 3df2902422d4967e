import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IrPathMatch, IrRedirect, IrRewrite } from '../ir/types.js';
import { compilePathRewrite, compileRedirect } from './rewrite.js';

const prefix = (value: string, caseSensitive = true): IrPathMatch => ({
  kind: 'prefix',
  value,
  caseSensitive,
});
const exact = (value: string): IrPathMatch => ({ kind: 'exact', value, caseSensitive: true });
const regex = (value: string): IrPathMatch => ({ kind: 'regex', value, caseSensitive: true });
const pre = (value: string): IrRewrite => ({ kind: 'prefix', value });
const rx = (pattern: string, substitution: string): IrRewrite => ({ kind: 'regex', pattern, substitution });

const rewriteCases: readonly [string, IrRewrite, IrPathMatch, string, string][] = [
  ['default "/" strips the matched prefix', pre('/'), prefix('/backend-api/'), '/backend-api/foo', '/foo'],
  ['prefix replaced by another prefix', pre('/v2/'), prefix('/v1/'), '/v1/users/1', '/v2/users/1'],
  ['raw prefix: "/" after "/man" on "/mankind"', pre('/'), prefix('/man'), '/mankind', '/kind'],
  ['prefix without trailing slash leaves a double slash', pre('/'), prefix('/api'), '/api/x', '//x'],
  ['whole path matched by prefix', pre('/x'), prefix('/a/b'), '/a/b', '/x'],
  [
    "case-insensitive prefix replaces the path's own first len(prefix) chars",
    pre('/new/'),
    prefix('/OLD/', false),
    '/old/Keep',
    '/new/Keep',
  ],
  [
    'exact match: the whole path is replaced',
    pre('/model/test/:predict'),
    exact('/models/test/'),
    '/models/test/',
    '/model/test/:predict',
  ],
  [
    'regex match: non-empty prefix rewrite replaces the whole path',
    pre('/fixed'),
    regex('/a/[0-9]+'),
    '/a/12',
    '/fixed',
  ],
  [
    'regex rewrite with back-references',
    rx('^/svc/([^/]+)/(.*)$', '/\\2/\\1'),
    prefix('/svc/'),
    '/svc/a/b/c',
    '/b/c/a',
  ],
  [
    'regex rewrite replaces every match (RE2 GlobalReplace)',
    rx('o', '0'),
    prefix('/'),
    '/foo/bob',
    '/f00/b0b',
  ],
  ['regex rewrite \\0 is the whole match', rx('[0-9]+', '<\\0>'), prefix('/'), '/a/12/b/3', '/a/<12>/b/<3>'],
  ['regex rewrite keeps "$" literal', rx('x', '$1$&'), prefix('/'), '/x', '/$1$&'],
  ['regex rewrite "\\\\" is a literal backslash', rx('x', '\\\\'), prefix('/'), '/x', '/\\'],
  ['regex rewrite: reference to a missing group is empty', rx('(a)', '\\1\\2'), prefix('/'), '/a', '/a'],
  ['regex rewrite that does not match keeps the path', rx('zzz', 'y'), prefix('/'), '/abc', '/abc'],
  [
    'regex rewrite with ten groups and a digit after a reference',
    rx('(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', '\\10'),
    prefix('/'),
    '/abcdefghij',
    '/a0',
  ],
];

for (const [name, rw, match, input, want] of rewriteCases) {
  test(`rewrite: ${name}`, () => {
    const fn = compilePathRewrite(rw, match);
    assert.ok(fn !== null);
    assert.equal(fn(input), want);
  });
}

test('rewrite: null and empty prefix rewrites mean no rewrite', () => {
  assert.equal(compilePathRewrite(null, prefix('/a')), null);
  assert.equal(compilePathRewrite(pre(''), prefix('/a')), null);
  assert.equal(compilePathRewrite(pre(''), regex('/a.*')), null);
});

test('rewrite: an invalid regex is a GatewayError, not a crash later', () => {
  assert.throws(() => compilePathRewrite(rx('(', 'x'), prefix('/')), { name: 'GatewayError' });
});

const redirect = (partial: Partial<IrRedirect>): IrRedirect => ({
  code: 301,
  host: null,
  scheme: null,
  path: { kind: 'keep' },
  ...partial,
});

// [name, redirect, match, scheme, authority, path, query, expected Location]
const redirectCases: readonly [string, IrRedirect, IrPathMatch, string, string, string, string, string][] = [
  [
    'host_redirect keeps path and query',
    redirect({ host: 'new.example.com' }),
    prefix('/'),
    'http',
    'old.example.com',
    '/a/b',
    'x=1',
    'http://new.example.com/a/b?x=1',
  ],
  [
    'host with port replaces the whole authority',
    redirect({ host: 'n:8443' }),
    prefix('/'),
    'http',
    'o:8080',
    '/',
    '',
    'http://n:8443/',
  ],
  [
    'scheme https keeps a non-default port',
    redirect({ scheme: 'https' }),
    prefix('/'),
    'http',
    'h:8080',
    '/p',
    '',
    'https://h:8080/p',
  ],
  [
    'scheme change drops the old default port :80',
    redirect({ scheme: 'https' }),
    prefix('/'),
    'http',
    'h:80',
    '/p',
    'q',
    'https://h/p?q',
  ],
  [
    'scheme change drops :443 from https',
    redirect({ scheme: 'http' }),
    prefix('/'),
    'https',
    'h:443',
    '/',
    '',
    'http://h/',
  ],
  [
    'same scheme keeps :80',
    redirect({ scheme: 'http' }),
    prefix('/'),
    'http',
    'h:80',
    '/',
    '',
    'http://h:80/',
  ],
  [
    'IPv6 authority port stripping',
    redirect({ scheme: 'https' }),
    prefix('/'),
    'http',
    '[::1]:80',
    '/',
    '',
    'https://[::1]/',
  ],
  [
    'path_redirect replaces the path, query kept',
    redirect({ path: { kind: 'replace', value: '/new' } }),
    prefix('/old'),
    'http',
    'h',
    '/old/x',
    'a=1',
    'http://h/new?a=1',
  ],
  [
    'path_redirect with its own query drops the request query',
    redirect({ path: { kind: 'replace', value: '/new?b=2' } }),
    prefix('/'),
    'http',
    'h',
    '/x',
    'a=1',
    'http://h/new?b=2',
  ],
  [
    'prefix_redirect replaces the matched prefix',
    redirect({ path: { kind: 'prefix', value: '/v2/' } }),
    prefix('/v1/'),
    'http',
    'h',
    '/v1/u',
    '',
    'http://h/v2/u',
  ],
  [
    'prefix_redirect on an exact match replaces the whole path',
    redirect({ path: { kind: 'prefix', value: '/z' } }),
    exact('/a'),
    'http',
    'h',
    '/a',
    'k',
    'http://h/z?k',
  ],
  [
    'regex_redirect substitutes globally',
    redirect({ path: { kind: 'regex', pattern: 'a', substitution: 'b' } }),
    prefix('/'),
    'https',
    'h',
    '/aa/a',
    '',
    'https://h/bb/b',
  ],
  [
    'a path without a leading slash gets one',
    redirect({ path: { kind: 'replace', value: 'rel' } }),
    prefix('/'),
    'http',
    'h',
    '/x',
    '',
    'http://h/rel',
  ],
];

for (const [name, rd, match, scheme, authority, path, query, want] of redirectCases) {
  test(`redirect: ${name}`, () => {
    const compiled = compileRedirect(rd, match);
    assert.equal(compiled.code, rd.code);
    assert.equal(compiled.location(scheme, authority, path, query), want);
  });
}

test('redirect: the code is carried through', () => {
  assert.equal(compileRedirect(redirect({ code: 308 }), prefix('/')).code, 308);
});
