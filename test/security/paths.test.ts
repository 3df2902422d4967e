/**
 * Path normalisation against a guarded route. Legate has no AuthService yet, so the guard is a
 * route that only matches with a credential: `private` (prefix /private/, header
 * `authorization: Bearer good`) → upstream P; `public` (prefix /public/) → upstream Q; no
 * catch-all. Both Mappings set `rewrite: ""` so an upstream receives the whole path (Emissary's
 * default prefix rewrite to `/` would hide the prefix). Every hostile path is sent as raw bytes (undici sends `path` verbatim) under each Module
 * setting that shapes paths, and the table states where it must land:
 *   `Q:<path>` / `P:<path>` — that upstream, receiving exactly <path>;
 *   `404` — no route; `400` — refused.
 * Invariants checked on top of the table: without the credential nothing reaches P; with
 * normalisation on, what an upstream receives has no dot segment (so it cannot reinterpret
 * `/public/../private` as /private); with it off, the upstream receives byte for byte the path that
 * was matched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'undici';
import {
  ambassadorModule,
  docs,
  mapping,
  startTestGateway,
  startUpstream,
} from '../integration/gateway-harness.js';

type Outcome = string; // 'Q:/x' | 'P:/x' | '404' | '400'

interface Row {
  readonly path: string;
  /** Without the credential, then with it. */
  readonly anon: Outcome;
  readonly authed: Outcome;
}

interface Mode {
  readonly name: string;
  readonly config: Record<string, boolean>;
  readonly normalises: boolean;
  readonly rows: readonly Row[];
}

const SAME = (path: string, anon: Outcome, authed: Outcome = anon): Row => ({ path, anon, authed });

/** Rows whose outcome is the same under every normalising mode. */
const NORMALISED_COMMON: readonly Row[] = [
  SAME('/public/../private/x', '404', 'P:/private/x'),
  SAME('/public/%2e%2e/private/x', '404', 'P:/private/x'),
  SAME('/public/%2E%2E/private/x', '404', 'P:/private/x'),
  SAME('/public/.%2e/private/x', '404', 'P:/private/x'),
  SAME('/public/%2e./private/x', '404', 'P:/private/x'),
  SAME('/public/\\..\\private\\x', 'Q:/public/private/x'),
  SAME('/public\\..\\private\\x', '404', 'P:/private/x'),
  SAME('/./private/x', '404', 'P:/private/x'),
  SAME('/private/./x', '404', 'P:/private/x'),
  SAME('/private/../private/x', '404', 'P:/private/x'),
  SAME('/%70rivate/x', '404', 'P:/private/x'),
  SAME('/PRIVATE/x', '404'),
  SAME('/Private/x', '404'),
  SAME('/public/x/../../private/x', '404', 'P:/private/x'),
  SAME('/public/../../../../private/x', '404', 'P:/private/x'),
  SAME('/public/..;/private/x', 'Q:/public/..;/private/x'),
  SAME('/public/x;/../../private/x', '404', 'P:/private/x'),
  SAME('/private;/x', '404'),
  SAME('/public/%00/../../private/x', '404', 'P:/private/x'),
  SAME('/public/x%00', 'Q:/public/x%00'),
  SAME('/private%00/x', '404'),
  SAME('/public/x#/../../private/x', 'Q:/public/x'),
  SAME('/private/x#', '404', 'P:/private/x'),
  SAME('/public/%c0%ae%c0%ae/private/x', 'Q:/public/%c0%ae%c0%ae/private/x'),
  SAME('/public/%252e%252e/private/x', 'Q:/public/%252e%252e/private/x'),
  SAME('/public/ok', 'Q:/public/ok'),
];

const ESCAPED_SLASHES = [
  '/public/..%2Fprivate/x',
  '/public/%2F..%2Fprivate/x',
  '/public/%5C..%5Cprivate/x',
  '/public/..%2fprivate/x',
];

const MODES: readonly Mode[] = [
  {
    name: 'default (normalize_path: true)',
    config: {},
    normalises: true,
    rows: [
      ...NORMALISED_COMMON,
      ...ESCAPED_SLASHES.map((p) => SAME(p, `Q:${p}`)),
      SAME('//private/x', '404'),
      SAME('/public//../private/x', 'Q:/public/private/x'),
      SAME('/public//x', 'Q:/public//x'),
    ],
  },
  {
    name: 'merge_slashes: true',
    config: { merge_slashes: true },
    normalises: true,
    rows: [
      ...NORMALISED_COMMON,
      ...ESCAPED_SLASHES.map((p) => SAME(p, `Q:${p}`)),
      SAME('//private/x', '404', 'P:/private/x'),
      SAME('/public//../private/x', 'Q:/public/private/x'),
      SAME('/public//x', 'Q:/public/x'),
      SAME('//public//x', 'Q:/public/x'),
    ],
  },
  {
    name: 'reject_requests_with_escaped_slashes: true',
    config: { reject_requests_with_escaped_slashes: true },
    normalises: true,
    rows: [
      ...NORMALISED_COMMON,
      ...ESCAPED_SLASHES.map((p) => SAME(p, '400')),
      SAME('/private%2Fx', '400'),
      SAME('//private/x', '404'),
      SAME('/public//../private/x', 'Q:/public/private/x'),
    ],
  },
  {
    // Off: the path is matched as sent and sent upstream as matched. A `..` path can match only
    // the route its raw text starts with, and that route's upstream gets the raw text.
    name: 'normalize_path: false',
    config: { normalize_path: false },
    normalises: false,
    rows: [
      SAME('/public/../private/x', 'Q:/public/../private/x'),
      SAME('/public/%2e%2e/private/x', 'Q:/public/%2e%2e/private/x'),
      SAME('/public/%2E%2E/private/x', 'Q:/public/%2E%2E/private/x'),
      SAME('/public/.%2e/private/x', 'Q:/public/.%2e/private/x'),
      SAME('/public\\..\\private\\x', '404'),
      SAME('/public/\\..\\private\\x', 'Q:/public/\\..\\private\\x'),
      SAME('/./private/x', '404'),
      SAME('/private/./x', '404', 'P:/private/./x'),
      SAME('/%70rivate/x', '404'),
      SAME('//private/x', '404'),
      SAME('/PRIVATE/x', '404'),
      SAME('/public//../private/x', 'Q:/public//../private/x'),
      SAME('/public/..%2Fprivate/x', 'Q:/public/..%2Fprivate/x'),
      SAME('/public/x#/../../private/x', 'Q:/public/x'),
      SAME('/public/ok', 'Q:/public/ok'),
    ],
  },
];

/** Dot segments a receiving server could still resolve, after decoding unreserved escapes. */
function hasDotSegment(path: string): boolean {
  const decoded = path.replace(/%2e/gi, '.').replace(/\\/g, '/');
  return decoded.split('/').some((s) => s === '.' || s === '..');
}

for (const mode of MODES) {
  test(`paths vs a guarded route, ${mode.name}`, async (t) => {
    const p = await startUpstream('P');
    const q = await startUpstream('Q');
    const files: Record<string, string> = {
      'routes.yaml': docs(
        mapping('private', {
          prefix: '/private/',
          headers: { authorization: 'Bearer good' },
          service: `127.0.0.1:${p.port}`,
          rewrite: '',
        }),
        mapping('public', { prefix: '/public/', service: `127.0.0.1:${q.port}`, rewrite: '' }),
        ambassadorModule(mode.config),
      ),
    };
    const gw = await startTestGateway(files);
    const client = new Client(gw.url);
    t.after(async () => {
      await client.close();
      await gw.close();
      await p.close();
      await q.close();
    });
    const s = gw.gateway.reconciler.lastIr!.settings;
    assert.equal(s.normalizePath, mode.config.normalize_path ?? true, 'the Module applied');

    async function send(path: string, authed: boolean): Promise<Outcome> {
      const res = await client.request({
        path,
        method: 'GET',
        headers: authed ? { authorization: 'Bearer good' } : {},
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) return String(res.statusCode);
      const echo = JSON.parse(text) as { name: string; url: string };
      return `${echo.name}:${echo.url}`;
    }

    for (const row of mode.rows) {
      const pBefore = p.requests;
      const anon = await send(row.path, false);
      assert.equal(anon, row.anon, `${row.path} without the credential`);
      assert.equal(p.requests, pBefore, `${row.path}: nothing reaches P without the credential`);
      const authed = await send(row.path, true);
      assert.equal(authed, row.authed, `${row.path} with the credential`);
      for (const got of [anon, authed]) {
        if (!got.includes(':')) continue;
        const received = got.slice(2);
        if (mode.normalises) {
          assert.ok(!hasDotSegment(received), `${row.path}: ${got} carries no dot segment`);
        } else {
          const sent = row.path.split('#')[0];
          assert.equal(received, sent, `${row.path}: upstream gets exactly what was matched`);
        }
      }
    }
  });
}
