import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCodes } from './codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map<string, { status: string; flag: string }>();
for (const line of doc.split('\n')) {
  const m = /^\| `(GW_ERR_[A-Z_]+)` \| ([^|]+) \| ([^|]+) \|/.exec(line);
  if (m) rows.set(m[1]!, { status: m[2]!.trim(), flag: m[3]!.trim() });
}

test('every code in the registry is documented with its status and flag', () => {
  for (const [code, info] of Object.entries(ErrorCodes)) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.status, 'httpStatus' in info ? String(info.httpStatus) : '—', `${code} status`);
    assert.equal(row.flag, 'flag' in info ? info.flag : '—', `${code} flag`);
  }
});

test('docs/errors.md documents no code the registry lacks', () => {
  for (const code of rows.keys())
    assert.ok(code in ErrorCodes, `${code} is documented but not in the registry`);
});
