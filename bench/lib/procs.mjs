// Processes the benchmark starts, and what /proc says about them.
//
// ProcessGroup starts every server of a run, remembers each by PID, and stops exactly those
// (SIGTERM, then SIGKILL after a grace period). Nothing is ever found or killed by name. The /proc
// readers sum RSS and CPU time over a process and its descendants (nginx master + workers, Legate
// primary + workers); on systems without /proc they return NaN and the report shows `-`.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';

let clockTicks = null;
function ticksPerSecond() {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/PID/stat after the `(comm)` part, so a comm with spaces cannot shift them. */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** `pid` and every live descendant. */
export function processTree(pid) {
  const children = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(statFields(name)[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    for (const c of children.get(p) ?? []) queue.push(c);
  }
  return out;
}

/** Resident set size of the tree in MiB (VmRSS summed), NaN if unreadable. */
export function treeRssMiB(pid) {
  let kib = 0;
  let seen = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) {
        kib += Number(m[1]);
        seen += 1;
      }
    } catch {
      // exited
    }
  }
  return seen ? kib / 1024 : Number.NaN;
}

/** User+system CPU seconds consumed so far by the live processes of the tree; NaN if unreadable. */
export function treeCpuSeconds(pid) {
  let ticks = 0;
  let seen = 0;
  for (const p of processTree(pid)) {
    try {
      const f = statFields(p);
      // After "(comm) ": state=0 ppid=1 ... utime=11 stime=12 (0-based in this slice).
      ticks += Number(f[11]) + Number(f[12]);
      seen += 1;
    } catch {
      // exited
    }
  }
  return seen ? ticks / ticksPerSecond() : Number.NaN;
}

/** SIGKILL to each PID that still exists; the PIDs are ones this run started (or their children). */
function killPids(pids) {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Starts and stops a set of long-running servers, by PID only. */
export class ProcessGroup {
  constructor() {
    /** @type {Map<string, import('node:child_process').ChildProcess>} */
    this.procs = new Map();
  }

  /**
   * Starts `command args`, optionally pinned with `taskset -c cpu` (taskset execs the command, so
   * the PID is the server's). Output goes to `logFile`.
   */
  start(name, command, args, { cpu = null, taskset = 'taskset', logFile, env = process.env, cwd } = {}) {
    const fd = logFile ? openSync(logFile, 'a') : 'ignore';
    const [cmd, argv] = cpu === null ? [command, args] : [taskset, ['-c', String(cpu), command, ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env, cwd });
    child.once('error', () => {});
    this.procs.set(name, child);
    return child;
  }

  alive(name) {
    const c = this.procs.get(name);
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  pid(name) {
    return this.procs.get(name)?.pid;
  }

  /**
   * Stops one server: SIGTERM, then SIGKILL after `graceMs`. Descendants recorded before the
   * signal (nginx workers, Legate workers) that outlive their parent are killed too.
   * Resolves once the server has exited.
   */
  async stop(name, { graceMs = 5000 } = {}) {
    const child = this.procs.get(name);
    this.procs.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const tree = processTree(child.pid).slice(1);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 200));
    killPids(tree);
  }

  async stopAll(opts) {
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n, opts)));
  }

  /** Synchronous last resort for process exit paths: SIGKILL every server still running. */
  killAllNow() {
    for (const child of this.procs.values()) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        killPids(processTree(child.pid));
      }
    }
  }
}
