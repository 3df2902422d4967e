/** Legate's version, read once from package.json (two levels up from src/ or dist/). */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function legateVersion(): string {
  if (cached === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: string;
      };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
