import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { CONNECTION_CHECK_INTERVAL_MS, HTTP1_DEFAULTS, Http1Listener } from './http1.js';

/** Sends one raw request and resolves with the status line of the reply. */
function statusOf(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      const eol = data.indexOf('\r\n');
      if (eol !== -1) {
        s.destroy();
        resolve(data.slice(0, eol));
      }
    });
    s.on('error', reject);
  });
}

test('applyLimits sets node server properties; 0 connections means unlimited', async (t) => {
  const listener = await Http1Listener.start({
    host: '127.0.0.1',
    port: 0,
    handler: (_req, res) => {
      res.end('ok');
      return null;
    },
  });
  t.after(() => listener.close({ drainMs: 100 }));
  const server = listener.server as typeof listener.server & {
    maxHeaderSize: number;
    connectionsCheckingInterval: number;
  };
  assert.deepEqual(listener.limits, HTTP1_DEFAULTS);
  assert.equal(server.maxConnections, Number.POSITIVE_INFINITY);
  assert.equal(server.maxHeadersCount, 0);
  assert.equal(server.connectionsCheckingInterval, CONNECTION_CHECK_INTERVAL_MS);
  const next = {
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    keepAliveTimeoutMs: 3000,
    maxHeaderBytes: 1024,
    maxConnections: 7,
    maxRequestsPerConnection: 9,
  };
  listener.applyLimits(next);
  assert.equal(listener.limits, next);
  assert.deepEqual(
    [
      server.headersTimeout,
      server.requestTimeout,
      server.keepAliveTimeout,
      server.maxHeaderSize,
      server.maxConnections,
      server.maxRequestsPerSocket,
    ],
    [1000, 2000, 3000, 1024, 7, 9],
  );
  // The new head size applies to the next connection, without a restart.
  const head = `GET / HTTP/1.1\r\nhost: a\r\nx-pad: ${'p'.repeat(2000)}\r\n\r\n`;
  assert.equal(await statusOf(listener.address.port, head), 'HTTP/1.1 431 Request Header Fields Too Large');
  listener.applyLimits({ ...next, maxHeaderBytes: 8192 });
  assert.equal(await statusOf(listener.address.port, head), 'HTTP/1.1 200 OK');
});

test('no header field is dropped by node: every one reaches the handler (the stream counts them)', async (t) => {
  let seen = -1;
  const listener = await Http1Listener.start({
    host: '127.0.0.1',
    port: 0,
    maxHeaderBytes: 64 * 1024,
    handler: (req: IncomingMessage, res) => {
      seen = req.rawHeaders.length / 2;
      res.end('ok');
      return null;
    },
  });
  t.after(() => listener.close({ drainMs: 100 }));
  let fields = '';
  for (let i = 0; i < 1500; i++) fields += `x-${i}: v\r\n`;
  assert.equal(
    await statusOf(listener.address.port, `GET / HTTP/1.1\r\nhost: a\r\n${fields}\r\n`),
    'HTTP/1.1 200 OK',
  );
  assert.equal(seen, 1501);
});
