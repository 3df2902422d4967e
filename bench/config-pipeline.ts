/**
 * Configuration pipeline timings for 10,000 Mappings, one file and 100 files, with per-field lines
 * read for every object while parsing (`eager`, the reference reader) and on demand (`lazy`, the
 * file source's mode): parse → buildResourceSet → buildIr → attachFieldLines → compileSnapshot,
 * plus the reconciler's input hash (sha256 over JSON of every object) and a one-shot
 * `loadDirectory` of the same files from disk. Also a variant where 20 Mappings are invalid, so
 * the on-demand lines have work to do. Best of N passes per stage (the machine is shared and noisy).
 *
 *   node --import tsx bench/config-pipeline.ts [passes=5]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIr } from '../src/ir/build.js';
import { buildResourceSet } from '../src/resources/build.js';
import type { SourceObject, SourceProblem, SourceSnapshot } from '../src/resources/types.js';
import { compileSnapshot } from '../src/snapshot/compile.js';
import { attachFieldLines, snapshotTexts } from '../src/sources/file/field-lines.js';
import { loadDirectory } from '../src/sources/file/file-source.js';
import { parseConfigText } from '../src/sources/file/parse.js';
import { generateMappings } from './lib/mappings.mjs';

const passes = Number(process.argv[2] ?? 5);
const kCount = 10_000;

function split(text: string, files: number): string[] {
  const docs = text.split(/^---\n/m).filter((d) => d.trim() !== '');
  const per = Math.ceil(docs.length / files);
  return Array.from({ length: files }, (_, f) => docs.slice(f * per, f * per + per).join('---\n'));
}

/** 20 Mappings get an unknown field (`prefx`) a few lines into their spec. */
function withProblems(text: string): string {
  let n = 0;
  return text.replace(/^spec:\n/gm, (m) => (n++ % 500 === 250 ? `${m}  prefx: /oops/\n` : m));
}

type Stage = 'parse' | 'resources' | 'ir' | 'lines' | 'compile' | 'hash' | 'total';

function pass(
  texts: readonly string[],
  mode: 'eager' | 'lazy',
): Record<Stage, number> & { problems: number } {
  const t0 = performance.now();
  const objects: SourceObject[] = [];
  const problems: SourceProblem[] = [];
  const fileTexts: Record<string, string> = {};
  texts.forEach((t, i) => {
    const file = `f${String(i).padStart(3, '0')}.yaml`;
    const p = parseConfigText(t, file, 'file', { fieldLines: mode });
    for (const o of p.objects) objects.push(o);
    for (const q of p.problems) problems.push(q);
    fileTexts[file] = t;
  });
  const snap: SourceSnapshot = { source: 'file', objects, problems, texts: fileTexts };
  const t1 = performance.now();
  const resources = buildResourceSet([snap], { ambassadorId: 'default' });
  const t2 = performance.now();
  const ir = buildIr(resources, { ambassadorId: 'default', namespace: 'default' });
  const t3 = performance.now();
  const statuses = attachFieldLines(ir.statuses, snapshotTexts([snap]));
  const t4 = performance.now();
  compileSnapshot(ir, 1);
  const t5 = performance.now();
  const h = createHash('sha256');
  h.update(JSON.stringify(snap.objects));
  h.update(JSON.stringify(snap.problems));
  h.digest('hex');
  const t6 = performance.now();
  const bad = statuses.filter((s) => s.state === 'Rejected').length;
  return {
    parse: t1 - t0,
    resources: t2 - t1,
    ir: t3 - t2,
    lines: t4 - t3,
    compile: t5 - t4,
    hash: t6 - t5,
    total: t6 - t0,
    problems: bad,
  };
}

function best(runs: Record<Stage, number>[]): Record<Stage, number> {
  const out = {} as Record<Stage, number>;
  for (const k of Object.keys(runs[0]) as Stage[]) out[k] = Math.min(...runs.map((r) => r[k]));
  return out;
}

const fmt = (n: number) => n.toFixed(0).padStart(6);

const base = generateMappings({ count: kCount, service: '127.0.0.1:9' });
const cases: [string, string[]][] = [
  ['1 file', [base]],
  ['100 files', split(base, 100)],
  ['1 file, 20 invalid', [withProblems(base)]],
  ['100 files, 20 invalid', split(withProblems(base), 100)],
];

console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; node ${process.version}`,
);
console.log(`${kCount} Mappings (${(base.length / 1e6).toFixed(1)} MB), best of ${passes} passes, ms`);
console.log(
  `${'case'.padEnd(24)}${'mode'.padEnd(7)}${['parse', 'res', 'ir', 'lines', 'compile', 'total', 'hash'].map((s) => s.padStart(8)).join('')}  rejected`,
);
for (const [label, texts] of cases) {
  for (const mode of ['eager', 'lazy'] as const) {
    const runs: (Record<Stage, number> & { problems: number })[] = [];
    for (let i = 0; i < passes; i++) runs.push(pass(texts, mode));
    const b = best(runs);
    const stages: Stage[] = ['parse', 'resources', 'ir', 'lines', 'compile', 'total', 'hash'];
    console.log(
      `${label.padEnd(24)}${mode.padEnd(7)}${stages.map((s) => `  ${fmt(b[s])}`).join('')}  ${runs[0].problems}`,
    );
  }
}

// From disk, the way `legate validate` and the file source read it (stat, read, lazy parse).
for (const [label, texts] of cases.slice(0, 2)) {
  const dir = mkdtempSync(join(tmpdir(), 'legate-bench-'));
  try {
    texts.forEach((t, i) => {
      writeFileSync(join(dir, `f${String(i).padStart(3, '0')}.yaml`), t);
    });
    const times: number[] = [];
    for (let i = 0; i < passes; i++) {
      const t0 = performance.now();
      await loadDirectory(dir);
      times.push(performance.now() - t0);
    }
    console.log(`loadDirectory ${label}: ${fmt(Math.min(...times))} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
