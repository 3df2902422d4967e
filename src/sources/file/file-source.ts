/**
 * The file source: a directory of `*.yaml|*.yml|*.json` files (recursive; dotfiles and dot-dirs
 * skipped), published as one whole `SourceSnapshot` on start and after every change.
 * Created by the composition root (`legate serve`); `loadDirectory` is the one-shot form used by
 * `legate validate` and tests. (Traefik's provider/file.)
 *
 * Invariants:
 * - Level-triggered: every publish is the full current set, ordered by file path then document.
 * - A file that fails to read or parse keeps its last good objects live; its problem is published
 *   alongside. A deleted file drops its objects.
 * - Change detection never depends on fs.watch alone. Events only shorten the wait: a cheap stat
 *   scan (path, size, mtime, ctime, inode; symlinks followed) runs every `pollIntervalMs` and after
 *   each debounced event, and only files whose stat changed are re-read. This catches editors that
 *   rename-replace files, new subdirectories, and Kubernetes ConfigMap volumes (whose files are
 *   symlinks through a `..data` link that is swapped atomically).
 * - Events come from one non-recursive watcher per directory found by the last scan, not from
 *   `recursive: true`: Node 20's recursive watch on Linux watches files by inode and stops
 *   reporting a file after its first rename-replace, so every later edit waited for the poll.
 * - Publishes only when something changed; never two scans at once.
 * - Files are parsed in lazy mode (no per-field lines); the snapshot carries each file's text so
 *   `attachFieldLines` can add lines for the objects that end up with a problem.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../../errors/gateway-error.js';
import type { SourceObject, SourceProblem, SourceSnapshot } from '../../resources/types.js';
import type { Source } from '../source.js';
import { parseConfigText } from './parse.js';

const kExtensions = /\.(?:ya?ml|json)$/i;
/** Guards against symlink loops and absurd trees. */
const kMaxDepth = 32;

export interface FileSourceOptions {
  readonly dir: string;
  readonly name?: string;
  /**
   * Quiet time after a watch event before rescanning (default 50 ms, as the Kubernetes source).
   * It only folds a burst of events into one scan: coalescing changes into one rebuild is the
   * reconciler's holdoff, which follows, so a longer wait here only adds to every reload.
   */
  readonly debounceMs?: number;
  /** Interval of the fallback stat scan (default 500 ms; 0 disables it). */
  readonly pollIntervalMs?: number;
}

interface FileState {
  /** size:mtime:ctime:ino — a change in any re-reads the file. */
  stamp: string;
  /** Objects of the last successful parse (kept while the file is broken). */
  objects: SourceObject[];
  /** The text `objects` were parsed from (for field lines on demand). */
  text: string | undefined;
  /** Problems of the current contents. */
  problems: SourceProblem[];
}

interface FoundFile {
  readonly rel: string;
  readonly abs: string;
  readonly stamp: string;
}

interface Listing {
  readonly files: FoundFile[];
  /** Absolute paths of the directories walked, the root included. */
  readonly dirs: string[];
}

/**
 * Holds per-file state between scans. `scan()` re-reads what changed and says whether the
 * published set changed.
 */
class DirectoryState {
  private readonly files = new Map<string, FileState>();
  private rootProblem: SourceProblem | undefined;
  /** Directories walked by the last successful listing (what to watch). */
  dirs: readonly string[] = [];

  constructor(
    private readonly dir: string,
    private readonly source: string,
  ) {}

  async scan(): Promise<boolean> {
    let found: FoundFile[];
    try {
      const listing = await listFiles(this.dir);
      found = listing.files;
      this.dirs = listing.dirs;
    } catch (err) {
      // The directory vanished or became unreadable: keep everything live, report it.
      const message = `cannot read configuration directory: ${errMessage(err)}`;
      const changed = this.rootProblem?.message !== message;
      this.rootProblem = { location: { source: this.source, file: '.' }, message };
      return changed;
    }
    let changed = this.rootProblem !== undefined;
    this.rootProblem = undefined;

    const seen = new Set<string>();
    for (const f of found) {
      seen.add(f.rel);
      const prev = this.files.get(f.rel);
      if (prev && prev.stamp === f.stamp) continue;
      changed = true;
      let text: string;
      try {
        text = await readFile(f.abs, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') {
          // Deleted between listing and reading: the next scan drops it.
          seen.delete(f.rel);
          continue;
        }
        this.files.set(f.rel, {
          stamp: f.stamp,
          objects: prev?.objects ?? [],
          text: prev?.text,
          problems: [{ location: { source: this.source, file: f.rel }, message: errMessage(err) }],
        });
        continue;
      }
      const parsed = parseConfigText(text, f.rel, this.source, { fieldLines: 'lazy' });
      this.files.set(f.rel, {
        stamp: f.stamp,
        objects: parsed.ok ? parsed.objects : (prev?.objects ?? []),
        text: parsed.ok ? text : prev?.text,
        problems: parsed.problems,
      });
    }
    for (const rel of [...this.files.keys()]) {
      if (!seen.has(rel)) {
        this.files.delete(rel);
        changed = true;
      }
    }
    return changed;
  }

  snapshot(): SourceSnapshot {
    const names = [...this.files.keys()].sort();
    const objects: SourceObject[] = [];
    const problems: SourceProblem[] = [];
    const texts: Record<string, string> = {};
    if (this.rootProblem) problems.push(this.rootProblem);
    for (const name of names) {
      const st = this.files.get(name)!;
      for (const o of st.objects) objects.push(o);
      for (const p of st.problems) problems.push(p);
      if (st.text !== undefined) texts[name] = st.text;
    }
    return { source: this.source, objects, problems, texts };
  }
}

/** Every config file under `dir` (paths relative with `/` separators, sorted) and every directory. */
async function listFiles(dir: string): Promise<Listing> {
  const out: FoundFile[] = [];
  const dirs: string[] = [];
  const visited = new Set<string>();
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    const st = await stat(abs);
    const id = `${st.dev}:${st.ino}`;
    if (visited.has(id) || depth > kMaxDepth) return;
    visited.add(id);
    dirs.push(abs);
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const childAbs = join(abs, e.name);
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      let fst: Awaited<ReturnType<typeof stat>> | undefined;
      if (e.isSymbolicLink() || isFile) {
        try {
          fst = await stat(childAbs);
        } catch {
          continue; // dangling link, or deleted meanwhile
        }
        isDir = fst.isDirectory();
        isFile = fst.isFile();
      }
      if (isDir) {
        try {
          await walk(childAbs, childRel, depth + 1);
        } catch {
          // A subdirectory that disappears or is unreadable only loses its own files.
        }
      } else if (isFile && fst && kExtensions.test(e.name)) {
        out.push({
          rel: childRel,
          abs: childAbs,
          stamp: `${fst.size}:${fst.mtimeMs}:${fst.ctimeMs}:${fst.ino}`,
        });
      }
    }
  };
  await walk(dir, '', 0);
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files: out, dirs };
}

/** Reads `dir` once. Throws `GW_ERR_CONFIG_LOAD` only when the directory itself cannot be read. */
export async function loadDirectory(dir: string, sourceName = 'file'): Promise<SourceSnapshot> {
  await assertDirectory(dir);
  const state = new DirectoryState(dir, sourceName);
  await state.scan();
  return state.snapshot();
}

async function assertDirectory(dir: string): Promise<void> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new GatewayError('GW_ERR_CONFIG_LOAD', {
      message: `configuration directory ${dir}: ${errMessage(err)}`,
      cause: err,
    });
  }
}

export class FileSource implements Source {
  readonly name: string;
  private readonly dir: string;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;

  constructor(opts: FileSourceOptions) {
    this.dir = opts.dir;
    this.name = opts.name ?? 'file';
    this.debounceMs = opts.debounceMs ?? 50;
    this.pollIntervalMs = opts.pollIntervalMs ?? 500;
  }

  async start(signal: AbortSignal, publish: (snapshot: SourceSnapshot) => void): Promise<void> {
    await assertDirectory(this.dir);
    const state = new DirectoryState(this.dir, this.name);
    await state.scan();
    if (signal.aborted) return;
    publish(state.snapshot());

    let running = false;
    let again = false;
    let debounce: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const watchers = new Map<string, FSWatcher>();

    const rescan = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const changed = await state.scan();
          if (signal.aborted) return;
          syncWatchers();
          if (changed) publish(state.snapshot());
        } while (again);
      } finally {
        running = false;
      }
    };
    const onEvent = (): void => {
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => {
        debounce = undefined;
        void rescan();
      }, this.debounceMs);
    };

    /** One watcher per directory of the last scan; a directory that cannot be watched is polled. */
    const syncWatchers = (): void => {
      const wanted = new Set(state.dirs);
      for (const [dir, w] of watchers) {
        if (!wanted.has(dir)) {
          w.close();
          watchers.delete(dir);
        }
      }
      for (const dir of wanted) {
        if (watchers.has(dir)) continue;
        try {
          const w = watch(dir, { persistent: false }, onEvent);
          w.on('error', () => {
            w.close();
            if (watchers.get(dir) === w) watchers.delete(dir); // re-added by the next scan
          });
          watchers.set(dir, w);
        } catch {
          // Out of watches, or gone meanwhile: the stat scan still finds every change here.
        }
      }
    };
    syncWatchers();
    if (this.pollIntervalMs > 0) {
      const tick = (): void => {
        poll = setTimeout(() => {
          void rescan().finally(() => {
            if (!signal.aborted) tick();
          });
        }, this.pollIntervalMs);
        poll.unref();
      };
      tick();
    }
    signal.addEventListener(
      'abort',
      () => {
        if (debounce) clearTimeout(debounce);
        if (poll) clearTimeout(poll);
        for (const w of watchers.values()) w.close();
        watchers.clear();
      },
      { once: true },
    );
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
