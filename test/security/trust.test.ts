/**
 * Trust of forwarded and internal headers, through a whole gateway over real sockets: a client
 * spoofs X-Forwarded-*, x-envoy-* and hop-by-hop headers; the upstream (which records the request
 * exactly as Legate framed it) shows what Legate forwarded under each trust setting:
 * `use_remote_address` true with 0, 1 and 2 trusted hops, and `use_remote_address: false`.
 * The client connects from 127.0.0.1, so that is the peer address.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { IrSettings } from '../../src/ir/types.js';
import {
  ambassadorModule,
  docs,
  mapping,
  startTestGateway,
  type TestGateway,
} from '../integration/gateway-harness.js';
import {
  type RecordedRequest,
  type RecordingUpstream,
  rawExchange,
  reqHeader,
  startRecordingUpstream,
} from './wire.js';

let gw: TestGateway;
let up: RecordingUpstream;
let port: number;
const PEER = '127.0.0.1';

const routes = (): string => docs(mapping('all', { prefix: '/', service: `127.0.0.1:${up.port}` }));

before(async () => {
  up = await startRecordingUpstream();
  gw = await startTestGateway({ 'routes.yaml': routes(), 'module.yaml': ambassadorModule({}) });
  port = Number(new URL(gw.url).port);
});

after(async () => {
  await gw.close();
  await up.close();
});

/** Rewrites the Module and waits until the live settings show it. */
async function trust(useRemoteAddress: boolean, hops: number): Promise<void> {
  await gw.write(
    'module.yaml',
    ambassadorModule({ use_remote_address: useRemoteAddress, xff_num_trusted_hops: hops }),
  );
  const applied = (s: IrSettings): boolean =>
    s.useRemoteAddress === useRemoteAddress && s.xffNumTrustedHops === hops;
  await gw.waitForIr((ir) => applied(ir.settings));
}

let seq = 0;
/** Sends one request with the given extra header lines; returns what the upstream received. */
async function forward(lines: string[]): Promise<RecordedRequest> {
  const target = `/t/${++seq}`;
  const before = up.requests.length;
  const r = await rawExchange(
    port,
    `GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`,
  );
  assert.equal(r.responses[0]?.status, 200, `forwarded: ${JSON.stringify(r.responses[0])}`);
  const got = up.requests.slice(before).filter((q) => q.target === target);
  assert.equal(got.length, 1);
  return got[0];
}

function all(r: RecordedRequest, name: string): string[] {
  return r.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

const SPOOF = [
  'X-Forwarded-For: 6.6.6.6, 1.1.1.1, 2.2.2.2',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: evil.test',
  'X-Envoy-External-Address: 6.6.6.6',
];

test('use_remote_address: true, 0 trusted hops (default): the peer is the client; nothing the client says is trusted', async () => {
  await trust(true, 0);
  const r = await forward(SPOOF);
  assert.deepEqual(all(r, 'x-forwarded-for'), [`6.6.6.6, 1.1.1.1, 2.2.2.2, ${PEER}`]);
  assert.deepEqual(all(r, 'x-envoy-external-address'), [PEER]);
  assert.deepEqual(all(r, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(all(r, 'x-forwarded-host'), ['gw.test']);
  const bare = await forward([]);
  assert.deepEqual(all(bare, 'x-forwarded-for'), [PEER]);
  assert.deepEqual(all(bare, 'x-envoy-external-address'), [PEER]);
});

test('use_remote_address: true, 1 trusted hop: the last XFF entry is the client; proto and host trusted', async () => {
  await trust(true, 1);
  const r = await forward(SPOOF);
  assert.deepEqual(all(r, 'x-forwarded-for'), [`6.6.6.6, 1.1.1.1, 2.2.2.2, ${PEER}`]);
  assert.deepEqual(all(r, 'x-envoy-external-address'), ['2.2.2.2']);
  assert.deepEqual(all(r, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(all(r, 'x-forwarded-host'), ['evil.test, gw.test']);
  // No XFF although a hop is trusted: fall back to the peer.
  const bare = await forward([]);
  assert.deepEqual(all(bare, 'x-envoy-external-address'), [PEER]);
});

test('use_remote_address: true, 2 trusted hops: the second entry from the right; too short falls back to the peer', async () => {
  await trust(true, 2);
  const r = await forward(SPOOF);
  assert.deepEqual(all(r, 'x-envoy-external-address'), ['1.1.1.1']);
  const short = await forward(['X-Forwarded-For: 2.2.2.2']);
  assert.deepEqual(all(short, 'x-envoy-external-address'), [PEER]);
  assert.deepEqual(all(short, 'x-forwarded-for'), [`2.2.2.2, ${PEER}`]);
  const junk = await forward(['X-Forwarded-For: not-an-ip, 2.2.2.2']);
  assert.deepEqual(all(junk, 'x-envoy-external-address'), [PEER], 'a non-address entry is not trusted');
});

test('use_remote_address: false: XFF passed as is, the client is the last entry', async () => {
  await trust(false, 0);
  const r = await forward(SPOOF);
  assert.deepEqual(all(r, 'x-forwarded-for'), ['6.6.6.6, 1.1.1.1, 2.2.2.2']);
  assert.deepEqual(all(r, 'x-envoy-external-address'), ['2.2.2.2']);
  assert.deepEqual(all(r, 'x-forwarded-proto'), ['https']);
  const bare = await forward([]);
  assert.deepEqual(all(bare, 'x-forwarded-for'), [], 'no XFF invented off the edge');
  assert.deepEqual(all(bare, 'x-envoy-external-address'), [PEER]);
  await trust(false, 1);
  const one = await forward(SPOOF);
  assert.deepEqual(all(one, 'x-envoy-external-address'), ['1.1.1.1'], '(N+1)th from the right');
  await trust(true, 0);
});

test('client x-envoy-* and x-legate-* headers never reach the upstream', async () => {
  await trust(true, 0);
  const r = await forward([
    'X-Envoy-Internal: true',
    'x-envoy-retry-on: 5xx',
    'X-Envoy-Upstream-Rq-Timeout-Ms: 1',
    'X-Envoy-Original-Path: /admin',
    'X-Envoy-Expected-Rq-Timeout-Ms: 1',
    'X-Legate-Response-Flags: UF',
    'X-Envoyish: kept',
  ]);
  const internal = r.headers
    .map(([n]) => n.toLowerCase())
    .filter((n) => n.startsWith('x-envoy-') || n.startsWith('x-legate-'));
  assert.deepEqual(internal, ['x-envoy-external-address'], 'only the one Legate sets');
  assert.deepEqual(all(r, 'x-envoy-external-address'), [PEER]);
  assert.equal(reqHeader(r, 'x-envoyish'), 'kept');
});

test('hop-by-hop and Connection-listed headers are stripped; TE: trailers and Proxy-Authorization pass', async () => {
  const r = await forward([
    'Keep-Alive: timeout=5',
    'Proxy-Connection: keep-alive',
    'TE: gzip',
    'Upgrade: websocket',
    'X-Listed: secret',
    'X-Other: kept',
    'Proxy-Authorization: Basic cDpw',
    'Connection: X-Listed',
  ]);
  for (const gone of ['keep-alive', 'proxy-connection', 'te', 'upgrade', 'x-listed']) {
    assert.deepEqual(all(r, gone), [], `${gone} stripped`);
  }
  assert.ok(!all(r, 'connection').some((v) => /x-listed/i.test(v)), 'our Connection is our own');
  assert.equal(reqHeader(r, 'x-other'), 'kept');
  // RFC 9110 §11.7.2: end-to-end unless a proxy asked for it; Legate never asks (it is a gateway,
  // not a forward proxy), so the credential is the upstream's business, as in Envoy.
  assert.equal(reqHeader(r, 'proxy-authorization'), 'Basic cDpw');
  const te = await forward(['TE: trailers']);
  assert.deepEqual(all(te, 'te'), ['trailers']);
});

test('an upgrade request (no upgrade support yet) is forwarded as a plain request, without Upgrade', async () => {
  const r = await forward(['Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Connection: Upgrade']);
  assert.deepEqual(all(r, 'upgrade'), []);
  assert.ok(!all(r, 'connection').some((v) => /upgrade/i.test(v)), 'no upgrade token upstream');
  assert.equal(reqHeader(r, 'sec-websocket-version'), '13', 'end-to-end headers still pass');
});
