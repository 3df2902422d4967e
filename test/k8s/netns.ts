/**
 * Network namespaces for the Kubernetes tests' upstreams. An EndpointSlice may not carry a loopback
 * or link-local address, and the tests may send traffic only to loopback or to hosts the test run
 * creates itself, so every upstream behind an EndpointSlice runs inside a namespace made here:
 * `legate-<pid>-<n>`, joined to the root namespace by a veth pair on a private /30 (host side .1,
 * namespace side .2). The namespace has no default route and the machine does not forward, so
 * nothing inside it reaches anything but the host side of its own veth.
 *
 * Callers: gateway-support.ts (startNetnsUpstream) and the test/k8s test files, which call
 * netnsUnavailable() at load time to skip with its reason when namespaces cannot be made (not root,
 * no iproute2, no CAP_SYS_ADMIN).
 *
 * Invariants: everything a process creates is removed by close(), and again (best effort,
 * synchronously) when the process exits or is interrupted; before its first namespace a process
 * removes the `legate-<pid>-*` namespaces and `lg<pid>h*` links of dead processes (ours only).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TestNetns {
  /** `legate-<pid>-<n>`. */
  readonly name: string;
  /** The root-namespace side of the veth (the gateway's source address towards the namespace). */
  readonly hostAddress: string;
  /** The namespace side: what EndpointSlices carry and what upstreams listen on. */
  readonly address: string;
  /** Starts `argv` inside the namespace (`ip netns exec`); the child is killed by close(). */
  spawn(argv: readonly string[]): ChildProcess;
  /** Kills the children, deletes the veth and the namespace. Idempotent. */
  close(): Promise<void>;
}

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
const NAME = /^legate-(\d+)-(\d+|probe)$/;
const HOST_LINK = /^lg(\d+)h\d+$/;
/** Candidate /30s, tried from a pid-derived offset so concurrent test processes rarely meet. */
const POOLS = [ipToInt('10.213.0.0'), ipToInt('172.29.0.0')];
const SLOTS_PER_POOL = 1 << 14;

function ip(args: readonly string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quietly(args: readonly string[]): void {
  try {
    ip(args);
  } catch {
    // Best effort: the object may already be gone.
  }
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}

let availability: { reason: string | undefined } | undefined;

/**
 * Why network namespaces cannot be used here, or undefined when they can. Probes for real once per
 * process (a namespace with a veth into it, removed again): root alone does not prove the
 * capability inside a container.
 */
export function netnsUnavailable(): string | undefined {
  if (availability) return availability.reason;
  let reason: string | undefined;
  if (process.platform !== 'linux') reason = 'network namespaces need Linux';
  else if (process.getuid?.() !== 0) reason = 'creating network namespaces (ip netns add) needs root';
  else {
    try {
      ip(['-V']);
    } catch {
      reason = "iproute2's `ip` is not installed";
    }
  }
  if (!reason) {
    removeStaleNamespaces();
    const ns = `legate-${process.pid}-probe`;
    const link = `lg${process.pid}hp`;
    try {
      ip(['netns', 'add', ns]);
      ip(['link', 'add', link, 'type', 'veth', 'peer', 'name', `lg${process.pid}np`, 'netns', ns]);
    } catch (err) {
      reason = `cannot create a network namespace with a veth pair: ${errorText(err)}`;
    } finally {
      quietly(['link', 'del', link]);
      quietly(['netns', 'del', ns]);
    }
  }
  availability = { reason };
  return reason;
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier process with our pid: it is gone
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let staleRemoved = false;

/**
 * Removes namespaces and host-side links that match our naming pattern and belong to a process
 * that no longer runs (a crashed earlier run). Runs once per process, before its first namespace;
 * exported for the helper's own test.
 */
export function removeStaleNamespaces(force = false): string[] {
  if (staleRemoved && !force) return [];
  staleRemoved = true;
  const removed: string[] = [];
  let namespaces: string[] = [];
  try {
    namespaces = ip(['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '');
  } catch {
    return removed;
  }
  for (const ns of namespaces) {
    const m = NAME.exec(ns);
    if (!m || live.has(ns) || pidAlive(Number(m[1]))) continue;
    quietly(['netns', 'del', ns]);
    removed.push(ns);
  }
  let links: { ifname: string }[] = [];
  try {
    links = JSON.parse(ip(['-j', 'link', 'show'])) as { ifname: string }[];
  } catch {
    return removed;
  }
  for (const { ifname } of links) {
    const m = HOST_LINK.exec(ifname);
    if (!m || ownLinks.has(ifname) || pidAlive(Number(m[1]))) continue;
    quietly(['link', 'del', ifname]);
    removed.push(ifname);
  }
  return removed;
}

function ipToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Every IPv4 range this machine already routes or owns (the default route excepted). */
function rangesInUse(): [number, number][] {
  const ranges: [number, number][] = [];
  const add = (addr: string, prefix: number): void => {
    if (prefix === 0) return;
    const size = 2 ** (32 - prefix);
    const start = Math.floor(ipToInt(addr) / size) * size;
    ranges.push([start, start + size - 1]);
  };
  const routes = JSON.parse(ip(['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst?: string }[];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default') continue;
    const [addr, prefix] = r.dst.split('/');
    add(addr!, prefix === undefined ? 32 : Number(prefix));
  }
  const links = JSON.parse(ip(['-j', '-4', 'addr', 'show'])) as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  for (const l of links) {
    for (const a of l.addr_info ?? []) if (a.local) add(a.local, a.prefixlen ?? 32);
  }
  return ranges;
}

function pickSubnet(n: number): number {
  const used = rangesInUse();
  const offset = (process.pid * 16 + n) % SLOTS_PER_POOL;
  for (const pool of POOLS) {
    for (let i = 0; i < SLOTS_PER_POOL; i++) {
      const base = pool + ((offset + i) % SLOTS_PER_POOL) * 4;
      if (!used.some(([s, e]) => base <= e && base + 3 >= s)) return base;
    }
  }
  throw new Error('no free private /30 for a test network namespace');
}

const live = new Map<string, () => void>();
const ownLinks = new Set<string>();
let counter = 0;
let hooked = false;

function closeAllNow(): void {
  for (const close of [...live.values()]) close();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', closeAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      closeAllNow();
      process.kill(process.pid, sig); // the handler is gone now: the default action runs
    });
  }
}

/**
 * Creates a namespace with a veth into it and both sides up. Synchronous (a handful of `ip`
 * calls); throws with `ip`'s message when that fails, after undoing what it made.
 */
export function createTestNetns(): TestNetns {
  const unavailable = netnsUnavailable();
  if (unavailable) throw new Error(unavailable);
  removeStaleNamespaces();
  hookExit();
  const n = counter++;
  const name = `legate-${process.pid}-${n}`;
  const hostLink = `lg${process.pid}h${n}`;
  const peerLink = `lg${process.pid}n${n}`;
  const children = new Set<ChildProcess>();
  let closed = false;
  const teardown = (): void => {
    if (closed) return;
    closed = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    quietly(['link', 'del', hostLink]);
    quietly(['netns', 'del', name]);
    live.delete(name);
    ownLinks.delete(hostLink);
  };
  live.set(name, teardown);
  ownLinks.add(hostLink);
  let base: number;
  try {
    ip(['netns', 'add', name]);
    ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', peerLink, 'netns', name]);
    base = pickSubnet(n);
    ip(['addr', 'add', `${intToIp(base + 1)}/30`, 'dev', hostLink]);
    ip(['link', 'set', hostLink, 'up']);
    ip(['-n', name, 'addr', 'add', `${intToIp(base + 2)}/30`, 'dev', peerLink]);
    ip(['-n', name, 'link', 'set', peerLink, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    teardown();
    throw new Error(`creating test network namespace ${name}: ${errorText(err)}`);
  }
  return {
    name,
    hostAddress: intToIp(base + 1),
    address: intToIp(base + 2),
    spawn(argv) {
      if (closed) throw new Error(`network namespace ${name} is closed`);
      const child = spawn(IP, ['netns', 'exec', name, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async close() {
      const running = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
      await Promise.all(
        running.map(
          (c) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => c.kill('SIGKILL'), 2000);
              c.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
      teardown();
    },
  };
}
