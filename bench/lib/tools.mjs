// Finds the external programs the benchmark needs and says exactly how to get the missing ones.
// nginx lives in /usr/sbin, which is not on every user's PATH, so the sbin folders are searched too.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** Absolute path of an executable, or null. */
export function which(name, { path = process.env.PATH ?? '' } = {}) {
  const dirs = [...path.split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Debian package that provides each tool. */
export const PACKAGES = { nginx: 'nginx-light', wrk: 'wrk', taskset: 'util-linux' };

/**
 * Resolves the required tools; `missing` lists the ones not found and `hint` is the one command
 * that installs them (empty when nothing is missing).
 */
export function findTools(required, opts) {
  const found = {};
  const missing = [];
  for (const name of required) {
    const p = which(name, opts);
    if (p) found[name] = p;
    else missing.push(name);
  }
  const pkgs = [...new Set(missing.map((m) => PACKAGES[m] ?? m))];
  const hint = pkgs.length ? `sudo apt-get install -y ${pkgs.join(' ')}` : '';
  return { found, missing, hint };
}
