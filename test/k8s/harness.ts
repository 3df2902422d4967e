// Real Kubernetes API server for the test/k8s suite: starts one etcd member and one kube-apiserver
// (built by testenv/k8s/build.sh, never faked) on 127.0.0.1, with token authentication and RBAC.
//
// Called by every test in test/k8s through startCluster(); each caller owns its cluster and must
// close() it (t.after / after). Either process can be stopped and started again on the same port with
// the same data, so a client holding the kubeconfig sees a real outage and a real recovery.
//
// Invariants:
// - Every process started here is the leader of its own process group and is killed through that
//   group; close() kills whatever is still running and removes the cluster directory.
// - If the test process dies without close() (crash, SIGKILL, runner timeout), a detached watchdog
//   shell notices within a second and kills the groups named in the pid files, then removes the
//   directory. Nothing outlives the test process.
// - Ports are chosen once per cluster and reused on restart.
// - The watch cache is off by default so that compact() deterministically expires older resource
//   versions: with the cache on, the apiserver serves watches from its own event window and an etcd
//   compaction alone does not produce 410 (k8s.io/apiserver cacher only drops list snapshots).
//   Pass { watchCache: true } for the production-like path.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ClusterOptions {
  /** Directory holding `kube-apiserver` and `etcd`. Default: $LEGATE_K8S_BIN_DIR, else build.sh's cache. */
  binDir?: string;
  /** Parent of the cluster directory. Default: /dev/shm when writable, else the OS temp dir. */
  dataRoot?: string;
  /** Serve watches from the apiserver's watch cache (production default). Default false; see header. */
  watchCache?: boolean;
  /** How long a start may take before it fails with the process log. Default 90 s. */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended last (later flags win). */
  apiserverFlags?: string[];
  /** Keep the cluster directory after close() (also: LEGATE_K8S_KEEP=1). */
  keepDir?: boolean;
}

export interface Cluster {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin kubeconfig (JSON, accepted by KubeConfig.loadFromString) and the file holding it. */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string;
  /** Bearer token of user `legate-admin`, group system:masters. */
  readonly adminToken: string;
  /** Bearer token of user `legate` (group `legate-users`), which RBAC grants nothing by default. */
  readonly legateToken: string;
  readonly legateUser: string;
  /** Kubeconfig of the `legate` user (JSON) and the file holding it. */
  readonly legateKubeconfig: string;
  readonly legateKubeconfigPath: string;
  /** PEM bundle that verifies the apiserver's serving certificate. */
  readonly caData: string;
  /** http://127.0.0.1:<port> of etcd's client endpoint. */
  readonly etcdUrl: string;
  /** The cluster's working directory (data, certificates, logs). */
  readonly dir: string;
  /** Kubeconfig (JSON) for any bearer token. */
  kubeconfigFor(token: string, user?: string): string;
  stopEtcd(signal?: NodeJS.Signals): Promise<void>;
  startEtcd(): Promise<void>;
  stopApiserver(signal?: NodeJS.Signals): Promise<void>;
  startApiserver(): Promise<void>;
  restartApiserver(): Promise<void>;
  /** Compacts etcd at a fresh revision, so every resource version seen before the call is expired. Returns it. */
  compact(): Promise<number>;
  /** Last lines of a process's log, for failure messages. */
  logTail(name: 'etcd' | 'kube-apiserver', lines?: number): string;
  close(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;
const SERVICE_CIDR = '10.96.0.0/16';

/** Version pinned by testenv/k8s/go.mod, which also names build.sh's output directory. */
export function pinnedKubernetesVersion(): string {
  const goMod = readFileSync(new URL('../../testenv/k8s/go.mod', import.meta.url), 'utf8');
  const m = goMod.match(/^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)/m);
  if (!m) throw new Error('testenv/k8s/go.mod does not require k8s.io/kubernetes');
  return m[1];
}

export function defaultBinDir(): string {
  if (process.env.LEGATE_K8S_BIN_DIR) return process.env.LEGATE_K8S_BIN_DIR;
  const cache = process.env.LEGATE_K8S_CACHE || join(homedir(), '.cache', 'legate-k8s');
  return join(cache, pinnedKubernetesVersion());
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const binDir = opts.binDir ?? defaultBinDir();
  const etcdBin = join(binDir, 'etcd');
  const apiserverBin = join(binDir, 'kube-apiserver');
  for (const bin of [etcdBin, apiserverBin]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: run testenv/k8s/build.sh (npm run test:k8s does it for you)`);
    }
  }
  const root = opts.dataRoot ?? (isWritableDir('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(root, 'legate-k8s-'));
  const startTimeoutMs = opts.startTimeoutMs ?? 90_000;
  const procs = new Map<string, Proc>();
  let watchdog: ChildProcess | undefined;

  const cleanupSync = (): void => {
    for (const p of procs.values()) p.killGroup('SIGKILL');
    if (!(opts.keepDir || process.env.LEGATE_K8S_KEEP === '1')) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);

  try {
    const [etcdPort, peerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const adminToken = randomBytes(24).toString('hex');
    const legateToken = randomBytes(24).toString('hex');
    const legateUser = 'legate';

    writeFileSync(
      join(dir, 'tokens.csv'),
      `${adminToken},legate-admin,uid-legate-admin,"system:masters"\n` +
        `${legateToken},${legateUser},uid-legate,"legate-users"\n`,
      { mode: 0o600 },
    );
    const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

    watchdog = startWatchdog(dir, !(opts.keepDir || process.env.LEGATE_K8S_KEEP === '1'));

    const etcdArgs = [
      '--name=legate-test',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=legate-test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ];
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--disable-admission-plugins=ServiceAccount',
      // Background work a test cluster does not need: request fairness queues, pprof, and the
      // reconciler that keeps default/kubernetes endpoints pointing at this apiserver.
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--endpoint-reconciler-type=none',
      // On SIGTERM, close open watches within a bound instead of waiting for clients to hang up,
      // so a restart ends every watch stream the way a rolling apiserver update does.
      '--shutdown-watch-termination-grace-period=2s',
      `--watch-cache=${opts.watchCache === true}`,
      ...(opts.apiserverFlags ?? []),
    ];

    const etcd = new Proc('etcd', etcdBin, etcdArgs, dir);
    const apiserver = new Proc('kube-apiserver', apiserverBin, apiserverArgs, dir);
    procs.set('etcd', etcd);
    procs.set('kube-apiserver', apiserver);

    const startEtcd = async (): Promise<void> => {
      etcd.start();
      await waitFor(etcd, startTimeoutMs, async () => {
        const r = await httpJson('GET', `${etcdUrl}/health`);
        return r.status === 200 && (r.body as { health?: string }).health === 'true';
      });
    };
    const startApiserver = async (): Promise<void> => {
      apiserver.start();
      await waitFor(apiserver, startTimeoutMs, async () => {
        const ready = await httpsGet(server, '/readyz', adminToken);
        if (ready.status !== 200) return false;
        // The bootstrap controller creates `default` shortly after /readyz on a fresh store.
        return (await httpsGet(server, '/api/v1/namespaces/default', adminToken)).status === 200;
      });
    };

    await startEtcd();
    await startApiserver();

    const caData = readFileSync(join(dir, 'certs', 'apiserver.crt'), 'utf8');
    const kubeconfigFor = (token: string, user = 'user'): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'legate-test',
            cluster: { server, 'certificate-authority-data': Buffer.from(caData).toString('base64') },
          },
        ],
        users: [{ name: user, user: { token } }],
        contexts: [{ name: user, context: { cluster: 'legate-test', user } }],
        'current-context': user,
      });
    const kubeconfig = kubeconfigFor(adminToken, 'legate-admin');
    const legateKubeconfig = kubeconfigFor(legateToken, legateUser);
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const legateKubeconfigPath = join(dir, 'legate.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
    writeFileSync(legateKubeconfigPath, legateKubeconfig, { mode: 0o600 });

    let closed = false;
    return {
      server,
      kubeconfig,
      kubeconfigPath,
      adminToken,
      legateToken,
      legateUser,
      legateKubeconfig,
      legateKubeconfigPath,
      caData,
      etcdUrl,
      dir,
      kubeconfigFor,
      stopEtcd: (signal = 'SIGTERM') => etcd.stop(signal),
      startEtcd,
      stopApiserver: (signal = 'SIGTERM') => apiserver.stop(signal),
      startApiserver,
      restartApiserver: async () => {
        await apiserver.stop('SIGTERM');
        await startApiserver();
      },
      compact: () => compactEtcd(etcdUrl),
      logTail: (name, lines = 40) => (procs.get(name) as Proc).tail(lines),
      close: async () => {
        if (closed) return;
        closed = true;
        await apiserver.stop('SIGTERM');
        await etcd.stop('SIGTERM');
        process.removeListener('exit', cleanupSync);
        cleanupSync();
        stopWatchdog(watchdog);
      },
    };
  } catch (err) {
    const logs = [...procs.values()].map((p) => `--- ${p.name} log ---\n${p.tail(30)}`).join('\n');
    process.removeListener('exit', cleanupSync);
    cleanupSync();
    stopWatchdog(watchdog);
    if (err instanceof Error && logs) err.message += `\n${logs}`;
    throw err;
  }
}

/** One supervised server process; its stdout and stderr go to <dir>/<name>.log, its pid to <dir>/<name>.pid. */
class Proc {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  exitInfo: string | undefined;

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
    private readonly dir: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const log = openSync(join(this.dir, `${this.name}.log`), 'a');
    const child = spawn(this.bin, this.args, { cwd: this.dir, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exitInfo = undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with status ${code}`;
        rmSync(join(this.dir, `${this.name}.pid`), { force: true });
        resolve();
      });
      child.once('error', (err) => {
        this.exitInfo = `failed to start: ${err.message}`;
        resolve();
      });
    });
    if (child.pid !== undefined) writeFileSync(join(this.dir, `${this.name}.pid`), `${child.pid}\n`);
    // The harness must never keep the test process alive on its own.
    child.unref();
  }

  /** Signals the process group and waits for the exit; SIGKILL after STOP_GRACE_MS. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    // An unref'd child's exit does not keep the event loop alive; waiting for it must.
    this.child?.ref();
    this.killGroup(signal);
    const timer = setTimeout(() => this.killGroup('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.exitInfo !== undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  tail(lines: number): string {
    if (lines <= 0) return '';
    try {
      return readFileSync(join(this.dir, `${this.name}.log`), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }
}

async function waitFor(proc: Proc, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not probed yet';
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${proc.name} ${proc.exitInfo ?? 'stopped'} before it was ready`);
    try {
      if (await probe()) return;
      last = 'not ready';
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms (${last})`);
}

/**
 * Compaction through etcd's JSON gateway (/v3/kv/*): first a put outside the apiserver's /registry
 * prefix, so there is a revision newer than anything a client has seen, then a physical compaction
 * at that revision.
 */
async function compactEtcd(etcdUrl: string): Promise<number> {
  const key = Buffer.from('/legate-test/compact-marker').toString('base64');
  const value = Buffer.from(String(Date.now())).toString('base64');
  const put = await httpJson('POST', `${etcdUrl}/v3/kv/put`, { key, value });
  const revision = Number((put.body as { header?: { revision?: string } }).header?.revision);
  if (put.status !== 200 || !Number.isSafeInteger(revision)) {
    throw new Error(`etcd put failed: ${put.status} ${JSON.stringify(put.body)}`);
  }
  const res = await httpJson('POST', `${etcdUrl}/v3/kv/compaction`, {
    revision: String(revision),
    physical: true,
  });
  if (res.status !== 200)
    throw new Error(`etcd compaction failed: ${res.status} ${JSON.stringify(res.body)}`);
  return revision;
}

/**
 * A detached shell that outlives nothing: it polls the test process and, once it is gone, kills the
 * process groups named in the cluster's pid files and removes the directory.
 */
function startWatchdog(dir: string, removeDir: boolean): ChildProcess {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'for f in "$2"/*.pid; do [ -f "$f" ] && kill -s KILL -- "-$(cat "$f")" 2>/dev/null; done',
    removeDir ? 'rm -rf -- "$2"' : 'true',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'legate-k8s-watchdog', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

function stopWatchdog(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function freePorts(n: number): Promise<number[]> {
  // Hold every listener until all ports are known, so the n ports are distinct.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function httpJson(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Keep the text.
  }
  return { status: res.status, body: parsed };
}

/** GET over TLS without verification: used only for readiness, before the CA is known. */
function httpsGet(server: string, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server}${path}`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function isWritableDir(path: string): boolean {
  try {
    rmSync(mkdtempSync(join(path, 'legate-probe-')), { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/** Retries `fn` (every 200 ms) until it resolves; after `timeoutMs` rethrows its last error, named. */
export async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
