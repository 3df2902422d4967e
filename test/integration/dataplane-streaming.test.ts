/**
 * Streaming with bounded memory: a 100 MiB request body upstream and a 100 MiB response body
 * downstream, chunked and with a length. Client, gateway and origin share this process, so the
 * RSS bound covers all three; each side streams, so any buffering by the gateway would show as
 * growth of the order of the body (100 MiB). Bodies are generated and counted, never held whole.
 *
 * See MemoryWatch for how RSS is measured. With response backpressure disabled in the exchange,
 * the download test fails the bound.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { client, cluster, irRoute, snapshotOf, startOrigin, startPlane } from './dataplane-harness.js';

const MiB = 1024 * 1024;
const TOTAL = 100 * MiB;
const CHUNK = 64 * 1024;
/** Peak RSS growth allowed while 100 MiB stream through (client, gateway and origin together). */
const LIMIT = 40 * MiB;
const STEP = 8 * MiB;

function check(t: { diagnostic(s: string): void }, what: string, m: { rss: number; steps: number }): void {
  t.diagnostic(`${what}: peak RSS +${(m.rss / MiB).toFixed(1)} MiB`);
  assert.equal(m.steps, Math.floor(TOTAL / STEP), `${what}: measured along the whole body`);
  assert.ok(m.rss < LIMIT, `${what}: RSS grew ${(m.rss / MiB).toFixed(1)} MiB`);
}

/**
 * Chunks carry a byte tag that depends on their offset, so reordering or loss shows. The 16 tagged
 * chunks are built once and reused (never mutated), so the test's own garbage does not blur the
 * measurement of the gateway.
 */
const TAGS = 16;
const PATTERNS = Array.from({ length: TAGS }, (_, i) => Buffer.alloc(CHUNK, i + 1));
function tagAt(offset: number): number {
  return (Math.floor(offset / CHUNK) % TAGS) + 1;
}
function patterned(offset: number): Buffer {
  return PATTERNS[tagAt(offset) - 1];
}

function generated(total: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const chunk = patterned(sent);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

// A real `gc()` for measuring retained memory (the test runner gives no way to pass --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Peak RSS growth while a body streams, sampled every 20 ms and at every 8 MiB of progress. A full
 * GC runs at each 8 MiB step: without it, uncollected chunk garbage moves RSS in a sawtooth of up
 * to ~40 MiB whatever the body size (measured: 50 to 400 MiB uploads all peaked in that band),
 * which would hide the signal. With the GC steps, what RSS shows is what the process holds; a
 * gateway that buffers the body grows by the order of the body.
 */
class MemoryWatch {
  readonly #baseRss: number;
  #peakRss: number;
  #steps = 0;
  readonly #iv: NodeJS.Timeout;

  constructor() {
    gc();
    this.#baseRss = process.memoryUsage.rss();
    this.#peakRss = this.#baseRss;
    this.#iv = setInterval(() => this.#sample(), 20);
  }

  #sample(): void {
    const r = process.memoryUsage.rss();
    if (r > this.#peakRss) this.#peakRss = r;
  }

  /** Call with the bytes seen so far. */
  progress(bytes: number): void {
    while (bytes >= (this.#steps + 1) * STEP) {
      this.#steps++;
      this.#sample();
      gc();
    }
  }

  stop(): { rss: number; steps: number } {
    clearInterval(this.#iv);
    this.#sample();
    return { rss: this.#peakRss - this.#baseRss, steps: this.#steps };
  }
}

class Checker {
  bytes = 0;
  bad = 0;
  feed(c: Buffer): void {
    // Chunk boundaries differ between hops; check every byte's tag against its absolute offset.
    for (let i = 0; i < c.length; i += 4096) {
      const off = this.bytes + i;
      if (c[i] !== tagAt(off)) this.bad++;
    }
    this.bytes += c.length;
  }
}

test('100 MiB request body streams upstream with bounded memory (chunked and sized)', async (t) => {
  const results: Array<{ bytes: number; bad: number }> = [];
  let watch: MemoryWatch | null = null;
  const origin = await startOrigin(t, (req, res) => {
    const seen = new Checker();
    req.on('data', (c: Buffer) => {
      seen.feed(c);
      watch?.progress(seen.bytes);
    });
    req.on('end', () => {
      results.push({ bytes: seen.bytes, bad: seen.bad });
      res.end(String(seen.bytes));
    });
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0 }] })],
    [cluster('c', [origin.port])],
  );
  const p = await startPlane(t, snap);
  const c = client(t, p.url);
  // Known: the first measured 100 MiB upload in the process peaks ~28-31 MiB above its baseline
  // (with or without this warm-up, chunked or sized, whichever runs first); the next one stays
  // under 1 MiB, and in a probe 50/100/200/400 MiB uploads did not grow with the body size. It is
  // a one-off of the process (allocator/GC sizing), not buffering, and stays under the bound.
  watch = new MemoryWatch();
  await (await c.request({ path: '/warm', method: 'POST', body: generated(32 * MiB) })).body.text();
  watch.stop();
  results.length = 0;
  for (const sized of [false, true]) {
    const w = new MemoryWatch();
    watch = w;
    const res = await c.request({
      path: '/upload',
      method: 'POST',
      body: generated(TOTAL),
      headers: sized ? { 'content-length': String(TOTAL) } : {},
    });
    const text = await res.body.text();
    watch = null;
    assert.equal(res.statusCode, 200);
    assert.equal(text, String(TOTAL));
    check(t, `upload sized=${sized}`, w.stop());
  }
  assert.deepEqual(results, [
    { bytes: TOTAL, bad: 0 },
    { bytes: TOTAL, bad: 0 },
  ]);
});

test('100 MiB response body streams downstream with bounded memory to a slow reader', async (t) => {
  const origin = await startOrigin(t, (req, res: ServerResponse) => {
    req.resume();
    const sized = req.url === '/sized';
    res.writeHead(200, sized ? { 'content-length': String(TOTAL) } : {});
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        const chunk = patterned(sent);
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const snap = snapshotOf(
    [irRoute(0, { targets: [{ cluster: 'c', timeoutMs: 0 }] })],
    [cluster('c', [origin.port])],
  );
  const p = await startPlane(t, snap);
  const c = client(t, p.url);
  for (const path of ['/warm', '/chunked', '/sized']) {
    const watch = new MemoryWatch();
    const res = await c.request({ path, method: 'GET' });
    assert.equal(res.statusCode, 200);
    const seen = new Checker();
    let sinceBreak = 0;
    for await (const chunk of res.body) {
      seen.feed(chunk as Buffer);
      watch.progress(seen.bytes);
      sinceBreak += (chunk as Buffer).length;
      // A slow reader: the gateway must stop reading from the origin rather than buffer.
      if (sinceBreak >= 2 * MiB) {
        sinceBreak = 0;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.equal(seen.bytes, TOTAL, path);
    assert.equal(seen.bad, 0, path);
    const m = watch.stop();
    if (path !== '/warm') check(t, `download ${path}`, m);
  }
});
