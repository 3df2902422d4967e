/**
 * Tests for the upstream connection pool (`pool.ts`) and its HTTP/1.1 connections
 * (`http1-connection.ts`), driven directly: an `EndpointPool` dispatches to raw `net` servers on
 * 127.0.0.1 that record exactly the bytes they receive (split into requests by their own framing)
 * and answer scripted bytes; a recording `UpstreamHandler` stands in for the exchange.
 *
 * Every test checks the handler invariant of the connection's header: exactly one of
 * `onComplete`/`onError`, and no callback after it (`settled`). Waits poll observable state
 * (`until`) instead of sleeping, except where the contract is "nothing more happens" or a sweep.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { cluster } from '../../../test/integration/dataplane-harness.js';
import type { IrCluster } from '../../ir/types.js';
import { EndpointPool, type UpstreamHandler, type UpstreamRequest } from './pool.js';

/** A regression that hangs fails its test instead of stalling the run. */
const T = { timeout: 5000 };

// --- a recording upstream -------------------------------------------------------------------

interface SeenRequest {
  readonly conn: SeenConn;
  /** Position on its connection, from 0. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** Body with any chunked framing removed. */
  readonly body: Buffer;
  /** Exactly the bytes of this request as received. */
  readonly raw: Buffer;
}

interface SeenConn {
  readonly id: number;
  readonly socket: Socket;
  readonly requests: SeenRequest[];
  isClosed: boolean;
  readonly closed: Promise<void>;
}

interface Upstream {
  readonly port: number;
  readonly conns: SeenConn[];
  readonly requests: SeenRequest[];
}

interface Script {
  /** A complete request arrived. */
  answer(req: SeenRequest): void;
  /** A request head arrived (before its body). */
  onHead?(conn: SeenConn, head: string): void;
}

/** Length of the chunked body starting at `off`, and the de-chunked body; null when incomplete. */
function dechunk(buf: Buffer, off: number): { end: number; body: Buffer } | null {
  const parts: Buffer[] = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', off, 'latin1');
    if (eol === -1) return null;
    const line = buf.toString('latin1', off, eol);
    assert.match(line, /^[0-9a-f]+$/, 'chunk size line as Legate writes it');
    const size = Number.parseInt(line, 16);
    const data = eol + 2;
    if (buf.length < data + size + 2) return null;
    assert.equal(buf.toString('latin1', data + size, data + size + 2), '\r\n', 'chunk data ends in CRLF');
    if (size === 0) return { end: data + 2, body: Buffer.concat(parts) };
    parts.push(buf.subarray(data, data + size));
    off = data + size + 2;
  }
}

async function upstream(t: TestContext, script: Script): Promise<Upstream> {
  const conns: SeenConn[] = [];
  const requests: SeenRequest[] = [];
  const server: Server = createServer((socket) => {
    let markClosed!: () => void;
    const conn: SeenConn = {
      id: conns.length,
      socket,
      requests: [],
      isClosed: false,
      closed: new Promise((resolve) => {
        markClosed = resolve;
      }),
    };
    conns.push(conn);
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.isClosed = true;
      markClosed();
    });
    let pending: Buffer = Buffer.alloc(0);
    let headSeen = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n', 0, 'latin1');
        if (headEnd === -1) return;
        const head = pending.toString('latin1', 0, headEnd);
        if (!headSeen) {
          headSeen = true;
          script.onHead?.(conn, head);
          if (socket.destroyed) return;
        }
        const lines = head.split('\r\n');
        const [method, path] = lines[0].split(' ');
        const fields = lines.slice(1).map((l) => l.toLowerCase());
        const length = fields.find((l) => l.startsWith('content-length: '));
        const start = headEnd + 4;
        let end = start;
        let body: Buffer = Buffer.alloc(0);
        if (fields.includes('transfer-encoding: chunked')) {
          const c = dechunk(pending, start);
          if (c === null) return;
          end = c.end;
          body = c.body;
        } else if (length !== undefined) {
          end = start + Number(length.slice(16));
          if (pending.length < end) return;
          body = pending.subarray(start, end);
        }
        const req: SeenRequest = {
          conn,
          index: conn.requests.length,
          method,
          path,
          body: Buffer.from(body),
          raw: Buffer.from(pending.subarray(0, end)),
        };
        pending = pending.subarray(end);
        headSeen = false;
        conn.requests.push(req);
        requests.push(req);
        script.answer(req);
        if (socket.destroyed) return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const c of conns) c.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { port: addr.port, conns, requests };
}

function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

// --- the pool under test ----------------------------------------------------------------------

function poolFor(t: TestContext, port: number, over: Partial<IrCluster> = {}): EndpointPool {
  const c = cluster('up', [port], over);
  const pool = new EndpointPool({ cluster: c, endpoint: c.endpoints[0] });
  t.after(() => pool.destroy());
  return pool;
}

function request(
  method: string,
  path: string,
  headers: readonly string[] = [],
  body: Readable | null = null,
): UpstreamRequest {
  return { method, path, headers, body };
}

class Rec implements UpstreamHandler {
  readonly aborts: ((err?: Error) => void)[] = [];
  readonly heads: { status: number; headers: string[] }[] = [];
  readonly chunks: Buffer[] = [];
  readonly errors: Error[] = [];
  /** Callbacks that arrived after the outcome. */
  readonly late: string[] = [];
  started = 0;
  received = 0;
  completes = 0;
  resume: (() => void) | null = null;
  /** What `onData` returns (false pauses the connection). */
  onDataResult: (chunk: Buffer) => boolean = () => true;
  readonly done: Promise<void>;
  #over = false;
  #resolve!: () => void;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  get connects(): number {
    return this.aborts.length;
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  /** The only error's `code`. */
  get code(): unknown {
    assert.equal(this.errors.length, 1);
    return (this.errors[0] as Error & { code?: string }).code;
  }

  #note(name: string): void {
    if (this.#over) this.late.push(name);
  }
  onConnect(abort: (err?: Error) => void): void {
    this.#note('onConnect');
    this.aborts.push(abort);
  }
  onResponseStarted(): void {
    this.#note('onResponseStarted');
    this.started++;
  }
  onHeaders(status: number, headers: string[], resume: () => void): boolean {
    this.#note('onHeaders');
    this.heads.push({ status, headers: [...headers] });
    this.resume = resume;
    return true;
  }
  onData(chunk: Buffer, _last: boolean): boolean {
    this.#note('onData');
    // A view of the socket's buffer: copy it.
    this.chunks.push(Buffer.from(chunk));
    this.received += chunk.length;
    return this.onDataResult(chunk);
  }
  onComplete(): void {
    this.#note('onComplete');
    this.completes++;
    this.#over = true;
    this.#resolve();
  }
  onError(err: Error): void {
    this.#note('onError');
    this.errors.push(err);
    this.#over = true;
    this.#resolve();
  }
}

/** Waits for the outcome, gives stray callbacks a turn to arrive, and checks there was one. */
async function settled(rec: Rec): Promise<Rec> {
  await rec.done;
  await delay(5);
  assert.equal(rec.completes + rec.errors.length, 1, 'exactly one of onComplete/onError');
  assert.deepEqual(rec.late, [], 'no callback after the outcome');
  return rec;
}

async function send(pool: EndpointPool, req: UpstreamRequest): Promise<Rec> {
  const rec = new Rec();
  assert.equal(pool.dispatch(req, rec), true);
  return settled(rec);
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await delay(5);
  }
}

// --- 1. request bytes on the wire -----------------------------------------------------------

test(
  'request line and headers go out in order; content-length: 0 only for bodyless POST/PUT/PATCH',
  T,
  async (t) => {
    const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok(r.method)) });
    const pool = poolFor(t, up.port);
    const get = await send(pool, request('GET', '/p?q=1', ['host', 'up.internal', 'x-b', '2', 'x-a', '1']));
    assert.equal(get.body, 'GET');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const r = await send(pool, request(m, '/m', ['host', 'h']));
      assert.equal(r.completes, 1);
      assert.equal(r.body, m);
    }
    // A content-length the caller already set is not doubled.
    await send(pool, request('POST', '/given', ['host', 'h', 'content-length', '0']));
    assert.deepEqual(
      up.requests.map((r) => r.raw.toString('latin1')),
      [
        'GET /p?q=1 HTTP/1.1\r\nhost: up.internal\r\nx-b: 2\r\nx-a: 1\r\n\r\n',
        'POST /m HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n',
        'PUT /m HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n',
        'PATCH /m HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n',
        'DELETE /m HTTP/1.1\r\nhost: h\r\n\r\n',
        'OPTIONS /m HTTP/1.1\r\nhost: h\r\n\r\n',
        'POST /given HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n',
      ],
    );
    assert.equal(up.conns.length, 1, 'all on one keep-alive connection');
  },
);

test(
  'a body with a content-length goes raw; without one it goes chunked and ends with 0 CRLF CRLF',
  T,
  async (t) => {
    const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok(`got ${r.body.length}`)) });
    const pool = poolFor(t, up.port);

    const raw = await send(
      pool,
      request(
        'POST',
        '/raw',
        ['host', 'h', 'content-length', '11'],
        Readable.from([Buffer.from('hello'), Buffer.from(' world')]),
      ),
    );
    assert.equal(raw.body, 'got 11');
    assert.equal(
      up.requests[0].raw.toString('latin1'),
      'POST /raw HTTP/1.1\r\nhost: h\r\ncontent-length: 11\r\n\r\nhello world',
    );

    // Pieces written over several turns, one of them longer than 15 bytes (two hex digits).
    const body = new PassThrough();
    const rec = new Rec();
    pool.dispatch(request('PUT', '/chunked', ['host', 'h'], body), rec);
    const long = 'abcdefghijklmnopqrstuvwxyz';
    body.write('hello');
    await delay(5);
    body.write(long);
    await delay(5);
    body.end();
    await settled(rec);
    assert.equal(rec.body, 'got 31');
    assert.equal(
      up.requests[1].raw.toString('latin1'),
      `PUT /chunked HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n1a\r\n${long}\r\n0\r\n\r\n`,
    );

    // An empty stream is still a chunked body: just the last chunk.
    await send(pool, request('POST', '/empty', ['host', 'h'], Readable.from([])));
    assert.equal(
      up.requests[2].raw.toString('latin1'),
      'POST /empty HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    assert.equal(up.conns.length, 1);
  },
);

test(
  'a request target with a control character or a space is refused before anything is sent',
  T,
  async (t) => {
    const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok('x')) });
    const pool = poolFor(t, up.port);
    const rec = await send(pool, request('GET', '/a b', ['host', 'h']));
    assert.equal(rec.code, 'UPSTREAM_BAD_REQUEST');
    await delay(20);
    assert.deepEqual(up.requests, []);
  },
);

// --- 2. keep-alive reuse ------------------------------------------------------------------

test('two sequential requests use one connection', T, async (t) => {
  const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok(`${r.path} #${r.index}`)) });
  const pool = poolFor(t, up.port);
  const a = await send(pool, request('GET', '/a'));
  const b = await send(pool, request('GET', '/b'));
  assert.equal(a.body, '/a #0');
  assert.equal(b.body, '/b #1');
  assert.equal(up.conns.length, 1);
  assert.deepEqual(pool.stats, { connected: 1, running: 0, pending: 0 });
});

/** First answer on the first connection; every other request gets `second`. */
const firstAnswers: { name: string; first: (s: Socket) => void; reused: boolean }[] = [
  {
    name: 'Connection: close',
    first: (s) => s.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\none'),
    reused: false,
  },
  {
    name: 'HTTP/1.0 without keep-alive',
    first: (s) => s.write('HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\none'),
    reused: false,
  },
  {
    name: 'a body read to EOF',
    first: (s) => s.end('HTTP/1.1 200 OK\r\n\r\none'),
    reused: false,
  },
  {
    // In one write, so the extra bytes reach the connection in the read that completes the response.
    name: 'bytes after a complete response',
    first: (s) => s.write(ok('one') + ok('bogus')),
    reused: false,
  },
  // Controls: the same harness does see reuse when the upstream allows it.
  {
    name: 'HTTP/1.0 with Connection: keep-alive',
    first: (s) => s.write('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 3\r\n\r\none'),
    reused: true,
  },
  {
    name: 'a chunked response with trailers',
    first: (s) =>
      s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\none\r\n0\r\nx-t: 1\r\n\r\n'),
    reused: true,
  },
];

for (const c of firstAnswers) {
  test(
    `after ${c.name}, the next request ${c.reused ? 'reuses the connection' : 'takes a fresh connection'}`,
    T,
    async (t) => {
      const up = await upstream(t, {
        answer: (r) => {
          if (up.requests.length === 1) c.first(r.conn.socket);
          else r.conn.socket.write(ok('second'));
        },
      });
      const pool = poolFor(t, up.port);
      const one = await send(pool, request('GET', '/1'));
      assert.equal(one.body, 'one');
      const two = await send(pool, request('GET', '/2'));
      assert.equal(two.body, 'second', 'the next response is its own, whatever followed the first');
      assert.equal(up.conns.length, c.reused ? 1 : 2);
      assert.equal(up.requests.at(-1)?.index, c.reused ? 1 : 0);
      if (!c.reused) {
        await up.conns[0].closed;
        await until(() => pool.stats.connected === 1, 'the first connection gone from the pool');
      }
    },
  );
}

test(
  'an upstream answering before the request body was sent completes the request; the connection is not reused',
  T,
  async (t) => {
    const up = await upstream(t, {
      onHead: (conn, head) => {
        if (conn.id === 0 && head.startsWith('POST')) conn.socket.write(ok('early'));
      },
      answer: (r) => {
        if (r.method === 'GET') r.conn.socket.write(ok(`late ${r.conn.id}`));
      },
    });
    const pool = poolFor(t, up.port);
    const body = new PassThrough();
    const rec = new Rec();
    pool.dispatch(request('POST', '/upload', ['host', 'h'], body), rec);
    body.write('part one;');
    await settled(rec);
    assert.equal(rec.completes, 1);
    assert.equal(rec.body, 'early');
    // The rest of the body may still come; it goes nowhere and fails nothing.
    body.end('part two');
    const next = await send(pool, request('GET', '/next'));
    assert.equal(next.body, 'late 1');
    assert.equal(up.conns.length, 2);
    await up.conns[0].closed;
  },
);

// --- 3. stale keep-alive retry --------------------------------------------------------------

/** Answers the first request on connection 0 and drops connection 0 at its second request. */
function staleScript(): Script {
  return {
    answer: (r) => {
      if (r.conn.id === 0 && r.index === 1) r.conn.socket.destroy();
      else r.conn.socket.write(ok(`conn ${r.conn.id}`));
    },
  };
}

test('a GET meeting a stale keep-alive connection is retried once on a fresh one', T, async (t) => {
  const up = await upstream(t, staleScript());
  const pool = poolFor(t, up.port);
  assert.equal((await send(pool, request('GET', '/one'))).body, 'conn 0');
  const rec = await send(pool, request('GET', '/two', ['host', 'h']));
  assert.equal(rec.completes, 1);
  assert.equal(rec.body, 'conn 1');
  assert.equal(rec.connects, 2, 'onConnect again for the retry');
  assert.equal(rec.started, 1);
  assert.equal(up.conns.length, 2);
  assert.equal(up.conns[0].requests.length, 2, 'the stale connection saw the request');
  assert.deepEqual(up.conns[1].requests[0].raw, up.conns[0].requests[1].raw, 'the retry is the same bytes');
  // The abort from the failed attempt is bound to it: it leaves the retried request alone.
  rec.aborts[0](new Error('late abort'));
  assert.equal((await send(pool, request('GET', '/three'))).body, 'conn 1');
});

const notRetried: { name: string; req: () => UpstreamRequest }[] = [
  {
    name: 'a POST with a body',
    req: () => request('POST', '/two', ['content-length', '3'], Readable.from([Buffer.from('abc')])),
  },
  // Idempotent, but its body has been consumed.
  { name: 'a PUT with a body', req: () => request('PUT', '/two', [], Readable.from([Buffer.from('abc')])) },
  { name: 'a bodyless POST', req: () => request('POST', '/two') },
];

for (const c of notRetried) {
  test(`${c.name} meeting a stale keep-alive connection is not retried`, T, async (t) => {
    const up = await upstream(t, staleScript());
    const pool = poolFor(t, up.port);
    await send(pool, request('GET', '/one'));
    const rec = await send(pool, c.req());
    assert.equal(rec.code, 'UPSTREAM_CLOSED');
    assert.equal(rec.connects, 1, 'connected, once');
    assert.equal(up.conns[0].requests.length, 2, 'the request reached the stale connection');
    await delay(30);
    assert.equal(up.conns.length, 1, 'no second connection');
  });
}

test('a GET failing on a fresh connection is not retried', T, async (t) => {
  const up = await upstream(t, { answer: (r) => r.conn.socket.destroy() });
  const pool = poolFor(t, up.port);
  const rec = await send(pool, request('GET', '/x'));
  assert.equal(rec.code, 'UPSTREAM_CLOSED');
  assert.equal(rec.connects, 1);
  await delay(30);
  assert.equal(up.conns.length, 1);
});

test('an idle connection the upstream ended is not reused, even before its close event', T, async (t) => {
  // The pool's client sockets, seen through node's diagnostics channel; used to dispatch in the
  // window between the socket's 'end' (the connection destroys itself) and its 'close'.
  const sockets: Socket[] = [];
  const onSocket = (m: unknown): void => {
    sockets.push((m as { socket: Socket }).socket);
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  t.after(() => diagnostics.unsubscribe('net.client.socket', onSocket));
  const up = await upstream(t, {
    answer: (r) => {
      r.conn.socket.write(ok(`conn ${r.conn.id}`));
      if (r.conn.id === 0) r.conn.socket.end();
    },
  });
  const pool = poolFor(t, up.port);
  const first = new Rec();
  const rec = new Rec();
  pool.dispatch(request('GET', '/one'), first);
  assert.equal(sockets.length, 1, 'the dispatch opened one socket');
  // Listeners run in order: this one was added before the connection's own, so the tick it
  // queues runs after the connection has handled 'end' and before the socket's 'close'.
  sockets[0].once('end', () =>
    process.nextTick(() => {
      assert.equal(first.completes, 1);
      // A body cannot be retried, so this only succeeds if the ended connection is skipped.
      pool.dispatch(
        request('POST', '/two', ['content-length', '3'], Readable.from([Buffer.from('abc')])),
        rec,
      );
    }),
  );
  await settled(first);
  assert.equal(first.body, 'conn 0');
  await settled(rec);
  assert.deepEqual(rec.errors, []);
  assert.equal(rec.body, 'conn 1');
  assert.equal(up.conns.length, 2);
});

// --- 4. idle retirement -------------------------------------------------------------------

test('idle retirement: Keep-Alive hints and the cluster idle timeout', {
  ...T,
  concurrency: true,
}, async (t) => {
  await Promise.all([
    t.test('Keep-Alive: timeout=1 is within the margin: the connection is not kept', async (t) => {
      const up = await upstream(t, {
        answer: (r) => r.conn.socket.write(ok('a', 'keep-alive: timeout=1\r\n')),
      });
      const pool = poolFor(t, up.port);
      await send(pool, request('GET', '/1'));
      await send(pool, request('GET', '/2'));
      assert.equal(up.conns.length, 2, 'the second request could not reuse the first connection');
      await up.conns[0].closed;
    }),
    t.test(
      'Keep-Alive: timeout=2 keeps the connection about a second, then the sweeper retires it',
      async (t) => {
        const up = await upstream(t, {
          answer: (r) => r.conn.socket.write(ok('a', 'keep-alive: timeout=2, max=100\r\n')),
        });
        const pool = poolFor(t, up.port);
        await send(pool, request('GET', '/1'));
        await send(pool, request('GET', '/2'));
        assert.equal(up.conns.length, 1, 'kept idle and reused');
        const t0 = performance.now();
        assert.equal(pool.stats.connected, 1, 'kept idle');
        await until(() => pool.stats.connected === 0, 'retired by the sweeper', 4000);
        const elapsed = performance.now() - t0;
        assert.ok(elapsed >= 900, `retired after ${elapsed} ms, not before the hinted deadline`);
        await up.conns[0].closed;
      },
    ),
    t.test('the cluster idle timeout retires an idle connection', async (t) => {
      const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok('a')) });
      const pool = poolFor(t, up.port, { idleTimeoutMs: 100 });
      await send(pool, request('GET', '/1'));
      assert.equal(pool.stats.connected, 1, 'kept idle');
      await until(() => pool.stats.connected === 0, 'retired by the sweeper', 3000);
      await up.conns[0].closed;
    }),
    t.test('an idle connection past its deadline is never reused, even before a sweep', async (t) => {
      const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok(`conn ${r.conn.id}`)) });
      const pool = poolFor(t, up.port, { idleTimeoutMs: 20 });
      await send(pool, request('GET', '/1'));
      await delay(40);
      assert.equal((await send(pool, request('GET', '/2'))).body, 'conn 1');
      assert.equal(up.conns.length, 2);
    }),
  ]);
});

// --- 5. connect failures ------------------------------------------------------------------

test('a refused connection fails the request without onConnect', T, async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const pool = poolFor(t, port);
  const rec = await send(pool, request('GET', '/'));
  assert.equal(rec.code, 'ECONNREFUSED');
  assert.equal(rec.connects, 0);
  assert.deepEqual(pool.stats, { connected: 0, running: 0, pending: 0 });
});

test('the connect timeout fails the request without onConnect', T, async (t) => {
  // Loopback connects complete at once, so nothing on 127.0.0.1 reliably hangs. Instead: a 1 ms
  // timeout, and the event loop held for longer right after the dispatch. The loop runs expired
  // timers before it polls for I/O, so the timeout fires before the connect completes.
  const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok('x')) });
  const pool = poolFor(t, up.port, { connectTimeoutMs: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  const rec = new Rec();
  pool.dispatch(request('GET', '/'), rec);
  assert.equal(pool.stats.pending, 1);
  const end = performance.now() + 20;
  while (performance.now() < end) {
    // Busy wait: hold the loop past the timeout.
  }
  await settled(rec);
  assert.equal(rec.code, 'UPSTREAM_CONNECT_TIMEOUT');
  assert.equal(rec.connects, 0);
  assert.deepEqual(pool.stats, { connected: 0, running: 0, pending: 0 });
  assert.deepEqual(up.requests, []);
});

// --- 6. abort -----------------------------------------------------------------------------

test("an abort from a finished request does nothing to the connection's next request", T, async (t) => {
  let answerHeld: (() => void) | null = null;
  const up = await upstream(t, {
    answer: (r) => {
      if (r.index === 1) answerHeld = () => r.conn.socket.write(ok('two'));
      else r.conn.socket.write(ok(`#${r.index}`));
    },
  });
  const pool = poolFor(t, up.port);
  const first = await send(pool, request('GET', '/1'));
  const staleAbort = first.aborts[0];
  const second = new Rec();
  pool.dispatch(request('GET', '/2'), second);
  await until(() => answerHeld !== null, 'second request at the upstream');
  staleAbort(new Error('late'));
  staleAbort();
  answerHeld!();
  await settled(second);
  assert.equal(second.completes, 1);
  assert.equal(second.body, 'two');
  // Also harmless while the connection sits idle.
  staleAbort();
  assert.equal((await send(pool, request('GET', '/3'))).body, '#2');
  assert.equal(up.conns.length, 1);
  assert.equal(first.completes, 1);
  assert.deepEqual(first.errors, []);
});

test('aborting mid-response closes that connection; the handler gets exactly one onError', T, async (t) => {
  const up = await upstream(t, {
    answer: (r) => r.conn.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nfirst ten.'),
  });
  const pool = poolFor(t, up.port);
  const rec = new Rec();
  pool.dispatch(request('GET', '/'), rec);
  await until(() => rec.received === 10, 'the first body bytes');
  const reason = new Error('response timeout');
  rec.aborts[0](reason);
  rec.aborts[0]();
  await up.conns[0].closed;
  await settled(rec);
  assert.deepEqual(rec.errors, [reason]);
  assert.equal(rec.body, 'first ten.');
  await until(() => pool.stats.connected === 0, 'connection closed');
  assert.equal(pool.stats.running, 0);
});

// --- 7. backpressure ----------------------------------------------------------------------

test('onData returning false stops reading until resume', T, async (t) => {
  const size = 4 * 1024 * 1024;
  const up = await upstream(t, {
    answer: (r) => {
      r.conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`);
      r.conn.socket.write(Buffer.alloc(size, 'x'));
    },
  });
  const pool = poolFor(t, up.port);
  const rec = new Rec();
  let paused = 0;
  rec.onDataResult = () => {
    if (paused > 0) return true;
    paused++;
    return false;
  };
  pool.dispatch(request('GET', '/big'), rec);
  await until(() => rec.received > 0, 'the first body bytes');
  await delay(30);
  const a = rec.received;
  await delay(60);
  const b = rec.received;
  assert.equal(a, b, 'no bytes read while paused');
  assert.ok(b < size / 4, `only ${b} of ${size} bytes read while paused`);
  assert.equal(rec.completes + rec.errors.length, 0);
  rec.resume!();
  await settled(rec);
  assert.equal(rec.completes, 1);
  assert.equal(rec.received, size);
  assert.ok(rec.chunks.every((c) => c.every((byte) => byte === 0x78)));
  // The connection is fine for the next request.
  const next = new Rec();
  pool.dispatch(request('GET', '/again'), next);
  await settled(next);
  assert.equal(next.received, size);
  assert.equal(up.conns.length, 1);
});

// --- 8. close and destroy -----------------------------------------------------------------

test(
  'close(): idle connections close at once, a running request completes, then it resolves',
  T,
  async (t) => {
    let answerSlow: (() => void) | null = null;
    const up = await upstream(t, {
      answer: (r) => {
        if (r.path === '/slow') answerSlow = () => r.conn.socket.write(ok('slow'));
        else r.conn.socket.write(ok('fast'));
      },
    });
    const pool = poolFor(t, up.port);
    const slow = new Rec();
    pool.dispatch(request('GET', '/slow'), slow);
    await until(() => answerSlow !== null, 'slow request at the upstream');
    await send(pool, request('GET', '/fast'));
    assert.equal(up.conns.length, 2, 'the busy connection was not taken');
    assert.deepEqual(pool.stats, { connected: 2, running: 1, pending: 0 });

    const order: string[] = [];
    slow.done.then(() => order.push('slow done'));
    const closing = pool.close().then(() => order.push('close resolved'));
    assert.equal(pool.closing, true);
    await up.conns[1].closed;
    assert.equal(up.conns[0].isClosed, false, 'the busy connection stays open');
    assert.deepEqual(order, []);

    const late = new Rec();
    assert.equal(pool.dispatch(request('GET', '/late'), late), false);
    await settled(late);
    assert.equal(late.code, 'UPSTREAM_POOL_CLOSED');
    assert.equal(late.connects, 0);

    answerSlow!();
    await closing;
    await settled(slow);
    assert.equal(slow.body, 'slow');
    assert.deepEqual(order, ['slow done', 'close resolved']);
    await up.conns[0].closed;
    assert.equal(up.requests.length, 2);
    assert.equal(await pool.close().then(() => 'again'), 'again', 'idempotent');
  },
);

test('close() with nothing running resolves at once', T, async (t) => {
  const up = await upstream(t, { answer: (r) => r.conn.socket.write(ok('a')) });
  const pool = poolFor(t, up.port);
  await send(pool, request('GET', '/'));
  await pool.close();
  await up.conns[0].closed;
});

test('destroy(): a running request gets onError', T, async (t) => {
  const up = await upstream(t, { answer: () => {} });
  const pool = poolFor(t, up.port);
  const rec = new Rec();
  pool.dispatch(request('GET', '/never'), rec);
  await until(() => up.requests.length === 1, 'request at the upstream');
  await pool.destroy();
  await settled(rec);
  assert.equal(rec.code, 'UPSTREAM_DESTROYED');
  assert.equal(rec.connects, 1);
  await up.conns[0].closed;
  assert.equal(pool.stats.running, 0);
});

// --- 9. HEAD and 1xx ----------------------------------------------------------------------

test(
  'a HEAD response with Content-Length has no body; the next GET on the connection reads its own',
  T,
  async (t) => {
    const up = await upstream(t, {
      answer: (r) =>
        r.conn.socket.write(
          r.method === 'HEAD' ? 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n' : ok('the body'),
        ),
    });
    const pool = poolFor(t, up.port);
    const head = await send(pool, request('HEAD', '/'));
    assert.equal(head.completes, 1);
    assert.deepEqual(head.heads, [{ status: 200, headers: ['content-length', '1234'] }]);
    assert.equal(head.chunks.length, 0);
    const get = await send(pool, request('GET', '/'));
    assert.equal(get.body, 'the body');
    assert.equal(up.conns.length, 1);
  },
);

test('1xx heads (100, 103) before the 200 are skipped', T, async (t) => {
  const up = await upstream(t, {
    answer: async (r) => {
      if (r.index > 0) {
        r.conn.socket.write(ok('next'));
        return;
      }
      r.conn.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      await delay(5);
      r.conn.socket.write('HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\n');
      await delay(5);
      r.conn.socket.write(ok('ok', 'x-final: 1\r\n'));
    },
  });
  const pool = poolFor(t, up.port);
  const rec = await send(pool, request('GET', '/'));
  assert.deepEqual(rec.heads, [{ status: 200, headers: ['content-length', '2', 'x-final', '1'] }]);
  assert.equal(rec.body, 'ok');
  assert.equal(rec.started, 1);
  assert.equal((await send(pool, request('GET', '/2'))).body, 'next');
  assert.equal(up.conns.length, 1);
});
