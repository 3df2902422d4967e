/**
 * The `helm` binary the chart tests use: $LEGATE_HELM, else `helm` on PATH, else
 * ~/.cache/legate-tools/helm (where .ci/run builds it). Undefined when there is none; the tests then
 * skip with that reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function findHelm(): string | undefined {
  for (const c of [process.env['LEGATE_HELM'], 'helm', join(homedir(), '.cache', 'legate-tools', 'helm')]) {
    if (!c) continue;
    try {
      execFileSync(c, ['version', '--short'], { stdio: 'ignore' });
      return c;
    } catch {
      if (c !== 'helm' && existsSync(c)) return c;
    }
  }
  return undefined;
}

export const kNoHelm = 'no helm binary (set LEGATE_HELM)';
