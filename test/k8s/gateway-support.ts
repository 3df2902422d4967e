/**
 * Support for the Kubernetes-source tests: a whole gateway whose only source is a real API server
 * (test/k8s/harness.ts), real upstream servers (on 127.0.0.1, or inside a test network namespace
 * when they sit behind an EndpointSlice: netns.ts), a TCP relay that can cut the gateway
 * off from the API server (to make changes "while the watch is down"), and small API helpers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type AddressInfo,
  connect,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { request } from 'undici';
import type { KubernetesSettings, ServeSettings } from '../../src/bootstrap/settings.js';
import { type Gateway, runGateway } from '../../src/main.js';
import type { Cluster } from './harness.js';
import type { TestNetns } from './netns.js';

export interface K8sGateway {
  readonly gateway: Gateway;
  readonly url: string;
  close(): Promise<void>;
}

export async function startK8sGateway(
  kubeconfigPath: string,
  overrides: Partial<KubernetesSettings> = {},
  settings: Partial<ServeSettings> = {},
): Promise<K8sGateway> {
  const gateway = await runGateway(
    {
      kubernetes: {
        kubeconfig: kubeconfigPath,
        namespaces: [],
        publishAddress: '127.0.0.1',
        updateStatus: true,
        leaseNamespace: 'default',
        leaseName: `legate-status-${Math.random().toString(36).slice(2, 8)}`,
        ...overrides,
      },
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      workers: 1,
      ambassadorId: 'default',
      namespace: 'default',
      logLevel: 'silent',
      holdoffMs: 10,
      maxDelayMs: 100,
      drainMs: 500,
      ...settings,
    },
    { logger: pino({ level: process.env.LEGATE_TEST_LOG ?? 'silent' }) },
  );
  const deadline = Date.now() + 30_000;
  while (!gateway.proxyAddress()) {
    if (Date.now() > deadline) {
      await gateway.close();
      throw new Error(`gateway never became ready: ${gateway.readiness().reason}`);
    }
    await sleep(20);
  }
  return {
    gateway,
    url: `http://127.0.0.1:${gateway.proxyAddress()!.port}`,
    close: () => gateway.close(),
  };
}

export interface Upstream {
  readonly name: string;
  /** Where it listens: 127.0.0.1, or a test network namespace's address (netns.ts). */
  readonly address: string;
  readonly port: number;
  /** Requests answered so far; counts every response the caller has already received. */
  hits(): Promise<number>;
  close(): Promise<void>;
}

/**
 * An in-process HTTP server on 127.0.0.1 that answers `<name> <path>`. For Mappings that name
 * `127.0.0.1:<port>` directly; an EndpointSlice cannot carry a loopback address, so upstreams
 * behind Services use startNetnsUpstream instead.
 */
export async function startUpstream(name: string): Promise<Upstream> {
  let hits = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hits++;
    res.setHeader('content-type', 'text/plain');
    res.end(`${name} ${req.url}`);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    address: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    hits: async () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const NETNS_UPSTREAM = fileURLToPath(new URL('./netns-upstream.mjs', import.meta.url));

/**
 * The same upstream as a Node process inside the test network namespace `net`, listening on the
 * namespace's address (what EndpointSlices carry; the gateway reaches it over the veth). `port` 0
 * picks an ephemeral one. Closed by close() or, at the latest, by `net.close()`.
 */
export async function startNetnsUpstream(net: TestNetns, name: string, port = 0): Promise<Upstream> {
  const child = net.spawn([process.execPath, NETNS_UPSTREAM, name, net.address, String(port)]);
  const lines = createInterface({ input: child.stdout! });
  const waiting = new Map<number, { resolve: (hits: number) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of waiting.values()) w.reject(new Error(`upstream ${name} exited`));
      waiting.clear();
      resolve();
    }),
  );
  const listening = new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      let msg: { event?: string; port?: number; message?: string; id?: number; hits?: number };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.event === 'listening') resolve(msg.port!);
      else if (msg.event === 'error') reject(new Error(`upstream ${name} in ${net.name}: ${msg.message}`));
      else if (msg.id !== undefined) {
        waiting.get(msg.id)?.resolve(msg.hits!);
        waiting.delete(msg.id);
      }
    });
    void gone.then(() =>
      reject(new Error(`upstream ${name} in ${net.name} exited (code ${child.exitCode})`)),
    );
  });
  const boundPort = await listening;
  return {
    name,
    address: net.address,
    port: boundPort,
    hits: () =>
      new Promise<number>((resolve, reject) => {
        if (exited) return reject(new Error(`upstream ${name} is closed`));
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.stdin!.write(`${JSON.stringify({ id, op: 'hits' })}\n`);
      }),
    async close() {
      if (!exited) child.stdin!.end();
      await gone;
    },
  };
}

export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, { headers: { host: 'example.com', ...headers } });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Polls `fn` until it returns a truthy value; returns the elapsed ms. */
export async function eventually(
  what: string,
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  stepMs = 10,
): Promise<number> {
  const t0 = performance.now();
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return performance.now() - t0;
    } catch (err) {
      last = err;
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await sleep(stepMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Routes to `body` prefix? Returns the response of GET url+path. */
export async function routesTo(url: string, path: string, upstream: string): Promise<boolean> {
  const r = await get(`${url}${path}`);
  return r.status === 200 && r.body.startsWith(`${upstream} `);
}

/**
 * A TCP relay in front of the API server. `cut()` drops every connection and refuses new ones
 * (the gateway sees its watches fail), `restore()` lets it reconnect. The API server itself keeps
 * running, so the test can change objects while the gateway cannot see them.
 */
export interface Relay {
  readonly kubeconfigPath: string;
  cut(): Promise<void>;
  restore(): void;
  close(): Promise<void>;
}

export async function startRelay(cluster: Cluster, kubeconfigJson: string, dir: string): Promise<Relay> {
  const target = new URL(cluster.server);
  const sockets = new Set<Socket>();
  let open = true;
  const server: TcpServer = createTcpServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = JSON.parse(kubeconfigJson) as { clusters: { cluster: { server: string } }[] };
  for (const c of kc.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(dir, `relay-${port}.kubeconfig`);
  writeFileSync(kubeconfigPath, JSON.stringify(kc));
  return {
    kubeconfigPath,
    async cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
      await sleep(50);
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export function adminApi(cluster: Cluster) {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    ext: kc.makeApiClient(k8s.ApiextensionsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

/** Emissary-shaped CRDs (status `{state: Running|Inactive, reason}`), the shape existing installs have. */
export function emissaryShapedCrd(kind: 'Mapping' | 'Module'): k8s.V1CustomResourceDefinition {
  const plural = `${kind.toLowerCase()}s`;
  const version = (name: string, storage: boolean): k8s.V1CustomResourceDefinitionVersion => ({
    name,
    served: true,
    storage,
    subresources: { status: {} },
    schema: {
      openAPIV3Schema: {
        type: 'object',
        properties: {
          spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
          status: {
            type: 'object',
            properties: {
              state: { type: 'string', _enum: ['', 'Inactive', 'Running'] },
              reason: { type: 'string' },
            },
          },
        },
      },
    },
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.getambassador.io` },
    spec: {
      group: 'getambassador.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [version('v3alpha1', true), version('v2', false)],
    },
  };
}

export async function waitForCrd(api: ReturnType<typeof adminApi>, name: string): Promise<void> {
  await eventually(`CRD ${name} established`, async () => {
    const crd = await api.ext.readCustomResourceDefinition({ name });
    return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
  });
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
