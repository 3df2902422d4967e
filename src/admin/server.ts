/**
 * The admin server: health, diagnostics and metrics, bound to 127.0.0.1 by default.
 *
 * A handler table (Envoy admin style): each entry has a path, a help line and whether it changes
 * state; state-changing handlers answer only POST. Everything read here comes from the
 * `AdminState` the composition root provides; nothing on this server touches the request path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../bootstrap/settings.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not, when not ready. */
  readonly reason: string;
}

/** What the admin server can ask the running gateway. */
export interface AdminState {
  readiness(): Readiness;
  alive(): boolean;
  /** The /diag JSON document. */
  diag(): unknown;
  /** Prometheus text exposition. */
  metrics(): Promise<{ contentType: string; body: string }>;
}

interface Handler {
  readonly path: string;
  readonly help: string;
  readonly mutates: boolean;
  readonly handle: (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}

export function adminHandlers(state: AdminState): Handler[] {
  const ready: Handler['handle'] = (_req, res) => {
    const r = state.readiness();
    send(res, r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.reason}\n`);
  };
  const alive: Handler['handle'] = (_req, res) => {
    const ok = state.alive();
    send(res, ok ? 200 : 503, ok ? 'alive\n' : 'not alive\n');
  };
  const diag: Handler['handle'] = (_req, res) => {
    const r = state.readiness();
    sendJson(res, r.ready ? 200 : 503, state.diag());
  };
  return [
    {
      path: '/ready',
      help: 'readiness: 200 once the first configuration is live on every worker',
      mutates: false,
      handle: ready,
    },
    { path: '/alive', help: 'liveness', mutates: false, handle: alive },
    {
      path: '/ambassador/v0/check_ready',
      help: 'Emissary-compatible readiness',
      mutates: false,
      handle: (_req, res) => {
        const r = state.readiness();
        send(
          res,
          r.ready ? 200 : 503,
          r.ready ? 'Legate is ready and waiting\n' : `not ready: ${r.reason}\n`,
        );
      },
    },
    {
      path: '/ambassador/v0/check_alive',
      help: 'Emissary-compatible liveness',
      mutates: false,
      handle: (_req, res) => {
        const ok = state.alive();
        send(res, ok ? 200 : 503, ok ? 'Legate is alive and well\n' : 'not alive\n');
      },
    },
    {
      path: '/diag',
      help: 'diagnostics JSON: resources with status and errors, route table, clusters',
      mutates: false,
      handle: diag,
    },
    {
      path: '/ambassador/v0/diag/',
      help: 'diagnostics JSON at the Emissary path (?json=true)',
      mutates: false,
      handle: diag,
    },
    {
      path: '/metrics',
      help: 'Prometheus metrics',
      mutates: false,
      handle: async (_req, res) => {
        const m = await state.metrics();
        send(res, 200, m.body, m.contentType);
      },
    },
  ];
}

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startAdminServer(opts: { listen: HostPort; state: AdminState }): Promise<AdminServer> {
  const handlers = adminHandlers(opts.state);
  const table = new Map<string, Handler>();
  for (const h of handlers) table.set(h.path, h);
  const index = `${handlers.map((h) => `${h.mutates ? 'POST' : 'GET '} ${h.path.padEnd(28)} ${h.help}`).join('\n')}\n`;

  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      send(res, 400, 'bad request\n');
      return;
    }
    if (url.pathname === '/') {
      send(res, 200, index);
      return;
    }
    const h = table.get(url.pathname) ?? table.get(`${url.pathname}/`);
    if (!h) {
      send(res, 404, `no admin endpoint ${url.pathname}; see /\n`);
      return;
    }
    if (h.mutates ? req.method !== 'POST' : req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', h.mutates ? 'POST' : 'GET, HEAD');
      send(res, 405, `${url.pathname} needs ${h.mutates ? 'POST' : 'GET'}\n`);
      return;
    }
    Promise.resolve(h.handle(req, res, url)).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `admin handler failed: ${String(err)}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
