/**
 * Test harness: a whole gateway (file source → reconciler → data plane → admin) in this process,
 * on 127.0.0.1 port 0, serving a temporary configuration directory that tests can rewrite.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ServeSettings } from '../../src/bootstrap/settings.js';
import type { Ir } from '../../src/ir/types.js';
import { type Gateway, runGateway } from '../../src/main.js';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly dir: string;
  /** `http://127.0.0.1:<port>` of the proxy listener. */
  readonly url: string;
  readonly adminUrl: string;
  /** Writes (or replaces) a file in the configuration directory. */
  write(name: string, text: string): Promise<void>;
  /** Waits until the live IR satisfies `pred` (polls; fails after `timeoutMs`). */
  waitForIr(pred: (ir: Ir) => boolean, timeoutMs?: number): Promise<Ir>;
  close(): Promise<void>;
}

export async function startTestGateway(
  files: Record<string, string>,
  overrides: Partial<ServeSettings> = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'legate-test-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const settings: ServeSettings = {
    configDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    workers: 1,
    ambassadorId: 'default',
    namespace: 'default',
    logLevel: 'silent',
    holdoffMs: 20,
    maxDelayMs: 200,
    drainMs: 2000,
    ...overrides,
  };
  const gateway = await runGateway(settings, { logger: pino({ level: 'silent' }) });
  const waitForIr = async (pred: (ir: Ir) => boolean, timeoutMs = 10_000): Promise<Ir> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ir = gateway.reconciler.lastIr;
      if (ir && gateway.proxyAddress() && pred(ir)) return ir;
      if (Date.now() > deadline) {
        throw new Error(
          `configuration not applied in ${timeoutMs} ms (last error: ${String(gateway.reconciler.lastError)})`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await waitForIr(() => true);
  const addr = gateway.proxyAddress()!;
  return {
    gateway,
    dir,
    url: `http://127.0.0.1:${addr.port}`,
    adminUrl: `http://127.0.0.1:${gateway.admin.address.port}`,
    write: (name, text) => writeFile(join(dir, name), text),
    waitForIr,
    async close() {
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Upstream {
  readonly server: Server;
  readonly port: number;
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * A real HTTP upstream. The default handler answers JSON describing what it received
 * (`name`, method, url, headers), which is what most routing tests assert on.
 */
export async function startUpstream(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Upstream> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A v3alpha1 Mapping document. */
export function mapping(name: string, spec: Record<string, unknown>, namespace = 'default'): string {
  return JSON.stringify({
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Mapping',
    metadata: { name, namespace },
    spec: { hostname: '*', ...spec },
  });
}

/** The `ambassador` Module document with the given `config`. */
export function ambassadorModule(config: Record<string, unknown>, namespace = 'default'): string {
  return JSON.stringify({
    apiVersion: 'getambassador.io/v3alpha1',
    kind: 'Module',
    metadata: { name: 'ambassador', namespace },
    spec: { config },
  });
}

/** Several YAML documents in one file (JSON is valid YAML). */
export function docs(...documents: string[]): string {
  return `${documents.join('\n---\n')}\n`;
}
