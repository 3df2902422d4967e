// Tool lookup and the install hint printed when something is missing.
import { test } from 'node:test';
import { findTools, which } from './tools.mjs';

test('missing tools are listed with the one apt-get command that installs them', (t) => {
  t.plan(3);
  // With an empty PATH only the sbin folders are searched, where wrk never lives.
  const r = findTools(['wrk', 'legate-no-such-tool'], { path: '' });
  t.assert.deepEqual(r.missing, ['wrk', 'legate-no-such-tool']);
  t.assert.equal(r.hint, 'sudo apt-get install -y wrk legate-no-such-tool');
  t.assert.deepEqual(r.found, {});
});

test('a tool on PATH is found by absolute path', (t) => {
  t.plan(2);
  const node = which('node', { path: process.env.PATH });
  t.assert.equal(typeof node, 'string');
  t.assert.equal(findTools(['node']).hint, '');
});
