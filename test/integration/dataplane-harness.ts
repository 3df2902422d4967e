/**
 * Test support for the data-plane integration tests: hand-built snapshots (real compileSnapshot over
 * a hand-built IR), a real SnapshotStore, real upstream node:http servers and a data plane on
 * 127.0.0.1 port 0. Everything started here is closed through `t.after`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Client, request } from 'undici';
import { type DataPlane, type DataPlaneOptions, startDataPlane } from '../../src/dataplane/index.js';
import type { Ir, IrCluster, IrRoute, IrSettings } from '../../src/ir/types.js';
import { compileSnapshot } from '../../src/snapshot/compile.js';
import { SnapshotStore } from '../../src/snapshot/store.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { defaultSettings, irRoute, type RouteSpec } from '../conformance/ir-route.js';

export { irRoute, type RouteSpec };

export function cluster(id: string, ports: readonly number[], over: Partial<IrCluster> = {}): IrCluster {
  return {
    id,
    service: `${id}:80`,
    scheme: 'http',
    resolution: 'static',
    endpoints: ports.map((port) => ({ address: '127.0.0.1', port })),
    connectTimeoutMs: 1000,
    idleTimeoutMs: 0,
    maxConnectionLifetimeMs: 0,
    authority: `${id}.internal`,
    ...over,
  };
}

let versions = 0;

export function snapshotOf(
  routes: readonly IrRoute[],
  clusters: readonly IrCluster[],
  settings: Partial<IrSettings> = {},
): Snapshot {
  const ir: Ir = {
    hash: `h${++versions}`,
    ambassadorId: 'default',
    settings: { ...defaultSettings, ...settings },
    routes,
    clusters,
    statuses: [],
  };
  return compileSnapshot(ir, versions);
}

export interface Origin {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  requests: number;
}

export async function startOrigin(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void = echo('origin'),
): Promise<Origin> {
  const origin: { server: Server; port: number; url: string; requests: number } = {
    server: createServer((req, res) => {
      origin.requests++;
      handler(req, res);
    }),
    port: 0,
    url: '',
    requests: 0,
  };
  origin.server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => origin.server.listen(0, '127.0.0.1', resolve));
  origin.port = (origin.server.address() as AddressInfo).port;
  origin.url = `http://127.0.0.1:${origin.port}`;
  t.after(
    () =>
      new Promise<void>((resolve) => {
        origin.server.close(() => resolve());
        origin.server.closeAllConnections();
      }),
  );
  return origin;
}

/** A handler answering JSON describing the request it received (raw header lines included). */
export function echo(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      const body = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bytes,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    });
  };
}

export interface Echoed {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  bytes: number;
}

export interface Plane {
  readonly plane: DataPlane;
  readonly store: SnapshotStore;
  readonly url: string;
  /** Swaps in a new snapshot and updates the cluster registry, as the composition root does. */
  swap(snap: Snapshot): void;
}

export async function startPlane(
  t: TestContext,
  first: Snapshot,
  opts: Partial<Omit<DataPlaneOptions, 'store' | 'listen'>> = {},
): Promise<Plane> {
  const store = new SnapshotStore();
  store.swap(first);
  const plane = await startDataPlane({ store, listen: { host: '127.0.0.1', port: 0 }, ...opts });
  t.after(() => plane.close({ drainMs: 500 }));
  return {
    plane,
    store,
    url: `http://127.0.0.1:${plane.address.port}`,
    swap(snap) {
      plane.clusters.update(snap.clusters);
      store.swap(snap);
    },
  };
}

/** A keep-alive client to the plane, closed after the test. */
export function client(t: TestContext, url: string): Client {
  const c = new Client(url, { keepAliveTimeout: 30_000, pipelining: 1 });
  t.after(() => c.destroy());
  return c;
}

export async function get(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const res = await request(url + path, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function getJson(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Echoed> {
  const res = await get(url, path, headers);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as Echoed;
}
