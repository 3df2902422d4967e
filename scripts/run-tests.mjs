#!/usr/bin/env node
// Runs every *.test.ts under the given roots (default: src, test, bench and examples) with node:test through tsx.
// Node 20's test runner takes no globs, so the file list is built here. Suites that need
// extra infrastructure live in their own folders and their own npm scripts (test/k8s, test/soak).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const EXCLUDED = new Set(['node_modules', 'dist', 'k8s', 'soak']);
const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (EXCLUDED.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), p));
  }
  return out;
}

const files = [];
for (const root of roots.length > 0 ? roots : ['src', 'test', 'bench', 'examples']) {
  if (statSync(root, { throwIfNoEntry: false })?.isDirectory()) collect(root, files);
  else if (root.endsWith('.test.ts')) files.push(root);
}
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...passThrough, ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
