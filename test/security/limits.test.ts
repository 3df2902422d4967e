/**
 * Edge limits over raw sockets against a whole gateway (file source → reconciler → data plane) with
 * a real upstream. The Module sets small limits so every case runs in well under a second:
 * head 4 KiB / 20 fields / target 512 B / body 1 KiB / head within 500 ms / whole request within
 * 1500 ms / idle 500 ms / 3 requests per connection / 5 connections.
 *
 * Each refusal asserts the exact status line, the response flag, the body, that the connection is
 * closed and that the upstream never received the request (or, for a body refused mid-stream,
 * never a complete one); after each case a fresh connection still gets 200.
 *
 * The cases share one gateway and run in order; every socket a case opens is destroyed when the
 * case ends, so the five-connection limit never carries over.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  ambassadorModule,
  docs,
  mapping,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../integration/gateway-harness.js';
import { header, parseResponses, type RawResponse } from './wire.js';

const LIMITS = {
  max_request_headers_kb: 4,
  max_request_headers_count: 20,
  max_request_url_bytes: 512,
  max_request_body_bytes: 1024,
  request_headers_timeout_ms: 500,
  request_timeout_ms: 1500,
  listener_idle_timeout_ms: 500,
  max_requests_per_connection: 3,
  max_connections: 5,
};

/** What the upstream saw of one request. */
interface Seen {
  readonly url: string;
  /** The whole request (body included) arrived. */
  complete: boolean;
  /** The connection of an unanswered request closed under it (Legate aborted it). */
  aborted: boolean;
  bodyBytes: number;
}

const seen: Seen[] = [];
/** Requests to /hold/ and /slow/ wait here until released (or aborted). */
const held: ServerResponse[] = [];

function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const s: Seen = { url: req.url ?? '', complete: false, aborted: false, bodyBytes: 0 };
  seen.push(s);
  req.on('data', (c: Buffer) => {
    s.bodyBytes += c.length;
  });
  res.on('close', () => {
    if (!res.writableFinished) s.aborted = true;
  });
  req.on('end', () => {
    s.complete = true;
    if (s.url.startsWith('/hold/') || s.url.startsWith('/slow/')) {
      held.push(res);
      return;
    }
    const body = JSON.stringify({ url: s.url, bodyBytes: s.bodyBytes });
    // Content-Length framing: the raw client's parser (wire.ts) reads only that.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function seenFor(prefix: string): Seen[] {
  return seen.filter((s) => s.url.startsWith(prefix));
}

let gw: TestGateway;
let upstream: Upstream;
let port: number;
let files: () => Record<string, string>;

before(async () => {
  upstream = await startUpstream('limits', upstreamHandler);
  const service = `127.0.0.1:${upstream.port}`;
  files = () => ({
    'mappings.yaml': docs(
      mapping('ok', { prefix: '/ok/', service, rewrite: '' }),
      mapping('big', { prefix: '/big/', service, rewrite: '', max_request_body_bytes: 8192 }),
      mapping('slow', { prefix: '/slow/', service, rewrite: '', response_headers_timeout_ms: 300 }),
      mapping('hold', { prefix: '/hold/', service, rewrite: '', timeout_ms: 0 }),
    ),
  });
  gw = await startTestGateway({ ...files(), 'module.yaml': docs(ambassadorModule(LIMITS)) });
  port = Number(new URL(gw.url).port);
});

after(async () => {
  for (const r of held) r.destroy();
  await gw?.close();
  await upstream?.close();
});

/** A client connection that records everything it reads and when the gateway closed it. */
class Conn {
  readonly socket: net.Socket;
  data = '';
  closed = false;
  closedAt = 0;
  readonly opened: Promise<void>;

  constructor() {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1');
    });
    const onClose = (): void => {
      if (!this.closed) this.closedAt = performance.now();
      this.closed = true;
    };
    this.socket.on('end', onClose);
    this.socket.on('close', onClose);
    this.socket.on('error', onClose);
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  write(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  get responses(): RawResponse[] {
    return parseResponses(this.data).responses;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const conns: Conn[] = [];
function open(): Conn {
  const c = new Conn();
  conns.push(c);
  return c;
}

/** Destroys every socket a case opened (registered with t.after in each case). */
function closeAll(): void {
  for (const c of conns.splice(0)) c.destroy();
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `payload`, waits for the gateway to close the connection, returns the one response. */
async function refusedExchange(payload: string | string[], timeoutMs = 3000): Promise<RawResponse> {
  const c = open();
  await c.opened;
  for (const p of Array.isArray(payload) ? payload : [payload]) c.write(p);
  await until(() => c.closed, timeoutMs, 'the gateway to close the connection');
  const rs = c.responses;
  assert.equal(rs.length, 1, `exactly one response, got ${JSON.stringify(c.data.slice(0, 200))}`);
  return rs[0];
}

/** A plain request on a fresh connection still succeeds: the process is healthy. */
async function assertHealthy(): Promise<void> {
  const c = open();
  await c.opened;
  c.write('GET /ok/health HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n');
  await until(() => c.closed, 3000, 'the health response');
  const [r] = c.responses;
  assert.equal(r?.statusLine, 'HTTP/1.1 200 OK');
  c.destroy();
}

function assertRefusal(r: RawResponse, statusLine: string, body: string): void {
  assert.equal(r.statusLine, statusLine);
  assert.equal(header(r, 'x-legate-response-flags'), 'DPE');
  assert.equal(header(r, 'content-type'), 'text/plain');
  assert.equal(header(r, 'connection'), 'close');
  assert.equal(r.body, body);
}

const HEAD = 'host: example.com\r\n';

test('431: a request head over max_request_headers_kb', async (t) => {
  t.after(closeAll);
  const r = await refusedExchange(`GET /ok/h431 HTTP/1.1\r\n${HEAD}x-big: ${'a'.repeat(5000)}\r\n\r\n`);
  assertRefusal(r, 'HTTP/1.1 431 Request Header Fields Too Large', 'request headers too large\n');
  assert.equal(seenFor('/ok/h431').length, 0);
  await assertHealthy();
});

test('431: more header fields than max_request_headers_count (each small)', async (t) => {
  t.after(closeAll);
  let fields = '';
  for (let i = 0; i < 20; i++) fields += `x-f${i}: v\r\n`;
  // host + 20 = 21 fields, one over the limit; the head is far under 4 KiB.
  const r = await refusedExchange(`GET /ok/count HTTP/1.1\r\n${HEAD}${fields}\r\n`);
  assertRefusal(r, 'HTTP/1.1 431 Request Header Fields Too Large', 'request headers too large\n');
  assert.equal(seenFor('/ok/count').length, 0);
  // Exactly at the limit passes.
  const c = open();
  await c.opened;
  c.write(`GET /ok/count-at-limit HTTP/1.1\r\n${HEAD}${fields.split('\r\n').slice(1).join('\r\n')}\r\n`);
  await until(() => c.responses.length === 1, 3000, 'the response at the limit');
  assert.equal(c.responses[0].status, 200);
  await assertHealthy();
});

test('414: a request target over max_request_url_bytes', async (t) => {
  t.after(closeAll);
  const target = `/ok/long?${'q'.repeat(600)}`;
  const r = await refusedExchange(`GET ${target} HTTP/1.1\r\n${HEAD}\r\n`);
  assertRefusal(r, 'HTTP/1.1 414 URI Too Long', 'request URI too long\n');
  assert.equal(seenFor('/ok/long').length, 0);
  await assertHealthy();
});

test('413: Content-Length over the body limit is refused before the upstream is contacted', async (t) => {
  t.after(closeAll);
  const r = await refusedExchange(
    `POST /ok/cl HTTP/1.1\r\n${HEAD}content-length: 2000\r\n\r\n${'b'.repeat(2000)}`,
  );
  assertRefusal(r, 'HTTP/1.1 413 Payload Too Large', 'request body too large\n');
  assert.equal(seenFor('/ok/cl').length, 0);
  await assertHealthy();
});

test('413: a chunked body is refused when it crosses the limit; the upstream never gets it whole', async (t) => {
  t.after(closeAll);
  const chunk = `258\r\n${'c'.repeat(600)}\r\n`;
  const r = await refusedExchange([
    `POST /ok/chunked HTTP/1.1\r\n${HEAD}transfer-encoding: chunked\r\n\r\n`,
    chunk,
    chunk,
    '0\r\n\r\n',
  ]);
  assertRefusal(r, 'HTTP/1.1 413 Payload Too Large', 'request body too large\n');
  await until(() => seenFor('/ok/chunked').every((s) => s.aborted), 2000, 'the upstream request to end');
  for (const s of seenFor('/ok/chunked')) {
    assert.equal(s.complete, false);
    assert.ok(s.bodyBytes <= 1024, `upstream received ${s.bodyBytes} body bytes`);
  }
  await assertHealthy();
});

test('413 per route: a route with a larger max_request_body_bytes accepts what the default refuses', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  c.write(`POST /big/cl HTTP/1.1\r\n${HEAD}content-length: 2000\r\n\r\n${'b'.repeat(2000)}`);
  const chunk = `3e8\r\n${'c'.repeat(1000)}\r\n`;
  c.write(`POST /big/chunked HTTP/1.1\r\n${HEAD}transfer-encoding: chunked\r\n\r\n${chunk}${chunk}0\r\n\r\n`);
  await until(() => c.responses.length === 2, 3000, 'two responses');
  const [a, b] = c.responses;
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.body), { url: '/big/cl', bodyBytes: 2000 });
  assert.equal(b.status, 200);
  assert.deepEqual(JSON.parse(b.body), { url: '/big/chunked', bodyBytes: 2000 });
  // The same chunked body on the default route is refused.
  const r = await refusedExchange(
    `POST /ok/chunked2 HTTP/1.1\r\n${HEAD}transfer-encoding: chunked\r\n\r\n${chunk}${chunk}0\r\n\r\n`,
  );
  assert.equal(r.status, 413);
  await assertHealthy();
});

test('408: a request head not complete within request_headers_timeout_ms (slowloris)', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  const start = performance.now();
  c.write('GET /ok/slowloris HTTP/1.1\r\nhost: exa');
  // A few more bytes, slowly: the deadline counts from the start of the head, not the last byte.
  const drip = setInterval(() => {
    if (!c.closed) c.write('a');
  }, 100);
  t.after(() => clearInterval(drip));
  await until(() => c.closed, 3000, 'the gateway to close the slow connection');
  clearInterval(drip);
  const elapsed = c.closedAt - start;
  assert.ok(elapsed >= 450 && elapsed < 1500, `closed after ${Math.round(elapsed)} ms`);
  const rs = c.responses;
  assert.equal(rs.length, 1);
  assertRefusal(rs[0], 'HTTP/1.1 408 Request Timeout', 'request timeout\n');
  assert.equal(seenFor('/ok/slowloris').length, 0);
  await assertHealthy();
});

test('408: a body trickled past request_timeout_ms; the upstream request is aborted', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  const start = performance.now();
  c.write(`POST /ok/slowbody HTTP/1.1\r\n${HEAD}content-length: 100\r\n\r\n0123456789`);
  const drip = setInterval(() => {
    if (!c.closed) c.write('x');
  }, 100);
  t.after(() => clearInterval(drip));
  await until(() => c.closed, 4000, 'the gateway to close the slow upload');
  clearInterval(drip);
  const elapsed = c.closedAt - start;
  assert.ok(elapsed >= 1400 && elapsed < 2500, `closed after ${Math.round(elapsed)} ms`);
  const rs = c.responses;
  assert.equal(rs.length, 1);
  assertRefusal(rs[0], 'HTTP/1.1 408 Request Timeout', 'request timeout\n');
  await until(
    () => seenFor('/ok/slowbody').every((s) => s.aborted),
    2000,
    'the upstream request to be aborted',
  );
  const [s] = seenFor('/ok/slowbody');
  assert.equal(s?.complete, false);
  await assertHealthy();
});

test('idle keep-alive: a connection idle past listener_idle_timeout_ms is closed', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  c.write(`GET /ok/idle HTTP/1.1\r\n${HEAD}\r\n`);
  await until(() => c.responses.length === 1, 3000, 'the response');
  const answered = performance.now();
  assert.equal(c.responses[0].status, 200);
  assert.notEqual(header(c.responses[0], 'connection'), 'close');
  await until(() => c.closed, 3000, 'the idle connection to be closed');
  const idle = c.closedAt - answered;
  assert.ok(idle >= 450 && idle < 2000, `closed after ${Math.round(idle)} ms idle`);
  assert.equal(c.responses.length, 1);
  await assertHealthy();
});

test('max_requests_per_connection: the 3rd response carries Connection: close and the connection ends', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  for (let i = 1; i <= 3; i++) {
    c.write(`GET /ok/per-conn-${i} HTTP/1.1\r\n${HEAD}\r\n`);
    await until(() => c.responses.length === i, 3000, `response ${i}`);
  }
  const rs = c.responses;
  assert.deepEqual(
    rs.map((r) => [r.status, header(r, 'connection') ?? 'keep-alive']),
    [
      [200, 'keep-alive'],
      [200, 'keep-alive'],
      [200, 'close'],
    ],
  );
  await until(() => c.closed, 1000, 'the connection to close after the 3rd response');
  assert.equal(seenFor('/ok/per-conn-').length, 3);
  await assertHealthy();
});

async function droppedConnections(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const m = /^legate_downstream_connections_dropped_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m === null ? -1 : Number(m[1]);
}

test('max_connections: the 6th connection is closed at accept while 5 are open; after one closes a new one works', async (t) => {
  t.after(closeAll);
  const droppedBefore = await droppedConnections();
  assert.ok(droppedBefore >= 0, 'the dropped-connections counter is exported');
  const heldBefore = held.length;
  const five: Conn[] = [];
  for (let i = 0; i < 5; i++) {
    const c = open();
    five.push(c);
    await c.opened;
    // A complete request the upstream holds unanswered: the connection stays open and busy
    // (no head, body or idle timeout applies to it).
    c.write(`GET /hold/${i} HTTP/1.1\r\n${HEAD}\r\n`);
  }
  await until(() => held.length === heldBefore + 5, 3000, 'five held requests at the upstream');
  const sixth = open();
  sixth.socket.on('connect', () => sixth.write(`GET /ok/sixth HTTP/1.1\r\n${HEAD}\r\n`));
  await until(() => sixth.closed, 2000, 'the sixth connection to be closed');
  assert.equal(sixth.data, '');
  assert.equal(seenFor('/ok/sixth').length, 0);
  assert.equal(await droppedConnections(), droppedBefore + 1);
  assert.ok(
    five.every((c) => !c.closed),
    'the five open connections are untouched',
  );
  // One of the five goes away; the gateway notices the close and accepts a new connection.
  five[0].destroy();
  await new Promise((r) => setTimeout(r, 100));
  await assertHealthy();
  for (const r of held.splice(heldBefore)) r.end();
});

test('response_headers_timeout_ms: no upstream head in time → 504 UT, the upstream request aborted', async (t) => {
  t.after(closeAll);
  const c = open();
  await c.opened;
  const start = performance.now();
  c.write(`GET /slow/head HTTP/1.1\r\n${HEAD}\r\n`);
  await until(() => c.responses.length === 1, 3000, 'the 504');
  const elapsed = performance.now() - start;
  assert.ok(elapsed >= 280 && elapsed < 1000, `answered after ${Math.round(elapsed)} ms`);
  const [r] = c.responses;
  assert.equal(r.statusLine, 'HTTP/1.1 504 Gateway Timeout');
  assert.equal(header(r, 'x-legate-response-flags'), 'UT');
  assert.equal(r.body, 'upstream response headers timeout\n');
  await until(
    () => seenFor('/slow/head').every((s) => s.aborted),
    2000,
    'the upstream request to be aborted',
  );
  assert.equal(seenFor('/slow/head').length, 1);
  await assertHealthy();
});

test('a Module change raising limits applies live, without a restart', async (t) => {
  t.after(closeAll);
  const target = `/ok/live?${'q'.repeat(600)}`;
  const bigHead = `x-big: ${'a'.repeat(5000)}\r\n`;
  assert.equal((await refusedExchange(`GET ${target} HTTP/1.1\r\n${HEAD}\r\n`)).status, 414);
  // The head size is enforced by the listener itself (node's parser), not by the stream.
  assert.equal((await refusedExchange(`GET /ok/live-head HTTP/1.1\r\n${HEAD}${bigHead}\r\n`)).status, 431);
  const address = gw.gateway.proxyAddress();
  await gw.write(
    'module.yaml',
    docs(ambassadorModule({ ...LIMITS, max_request_url_bytes: 4096, max_request_headers_kb: 16 })),
  );
  await gw.waitForIr((ir) => ir.settings.maxRequestUrlBytes === 4096);
  const c = open();
  await c.opened;
  c.write(`GET ${target} HTTP/1.1\r\n${HEAD}\r\n`);
  c.write(`GET /ok/live-head HTTP/1.1\r\n${HEAD}${bigHead}connection: close\r\n\r\n`);
  await until(() => c.closed, 3000, 'the responses');
  assert.deepEqual(
    c.responses.map((r) => r.status),
    [200, 200],
  );
  assert.equal(seenFor('/ok/live').length, 2);
  // Same listener: the limits changed under it.
  assert.deepEqual(gw.gateway.proxyAddress(), address);
  await gw.write('module.yaml', docs(ambassadorModule(LIMITS)));
  await gw.waitForIr((ir) => ir.settings.maxRequestUrlBytes === 512);
});
