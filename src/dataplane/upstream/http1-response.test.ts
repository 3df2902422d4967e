/**
 * Tests for the upstream HTTP/1.1 response parser (`http1-response.ts`), through a recording
 * `ResponseSink`: every framing mode and keep-alive outcome, every way of splitting a response
 * across reads, every rejection rule the module header states, and two fast-check properties:
 * generated valid responses parse back to what was generated however they are split, and
 * mutated responses that the parser accepts are accepted alike by node's own parser (llhttp).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { ResponseParser, type ResponseSink, UpstreamProtocolError } from './http1-response.js';

type Event =
  | { kind: 'head'; status: number; headers: string[] }
  | { kind: 'body'; bytes: Buffer; last: boolean }
  | { kind: 'end' };

class Recorder implements ResponseSink {
  readonly events: Event[] = [];
  onResponseHead(status: number, headers: string[]): void {
    this.events.push({ kind: 'head', status, headers: [...headers] });
  }
  onResponseBody(chunk: Buffer, last: boolean): void {
    // The chunk is a view of the caller's buffer: copy it so later reads cannot change it.
    this.events.push({ kind: 'body', bytes: Buffer.from(chunk), last });
  }
  onResponseEnd(): void {
    this.events.push({ kind: 'end' });
  }
  get heads(): Extract<Event, { kind: 'head' }>[] {
    return this.events.filter((e) => e.kind === 'head');
  }
  get bodies(): Extract<Event, { kind: 'body' }>[] {
    return this.events.filter((e) => e.kind === 'body');
  }
  get ends(): number {
    return this.events.filter((e) => e.kind === 'end').length;
  }
  get body(): Buffer {
    return Buffer.concat(this.bodies.map((e) => e.bytes));
  }
  /**
   * What must not depend on how the bytes were split: the event order with body runs collapsed
   * (`HBE`), the head, the whole body, and which body event carried `last`.
   */
  summary(): object {
    const order = this.events
      .map((e) => (e.kind === 'head' ? 'H' : e.kind === 'body' ? 'B' : 'E'))
      .join('')
      .replace(/B+/g, 'B');
    const bodies = this.bodies;
    return {
      order,
      heads: this.heads.map((h) => [h.status, h.headers]),
      body: this.body.toString('latin1'),
      lastFlags: bodies.filter((b) => b.last).length,
      lastOnFinalBody: bodies.length > 0 && bodies[bodies.length - 1].last,
      // An empty slice would be a pointless callback.
      emptySlices: bodies.filter((b) => b.bytes.length === 0).length,
    };
  }
}

const MAX_HEAD = 16 * 1024;

interface Parsed {
  rec: Recorder;
  parser: ResponseParser;
  eof: boolean | undefined;
}

/** Feeds `pieces` to a fresh parser; with `eof`, then ends the connection. */
function feed(
  pieces: (string | Buffer)[],
  opts: { noBody?: boolean; eof?: boolean; maxHead?: number } = {},
): Parsed {
  const rec = new Recorder();
  const parser = new ResponseParser(rec, opts.maxHead ?? MAX_HEAD);
  parser.reset(opts.noBody ?? false);
  for (const p of pieces) parser.execute(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  const eof = opts.eof ? parser.finishEof() : undefined;
  return { rec, parser, eof };
}

function bytes(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

function oneByteAtATime(s: string | Buffer): Buffer[] {
  const b = bytes(s);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}

function assertProtocolError(err: unknown, code: string): true {
  assert.ok(err instanceof UpstreamProtocolError, `expected UpstreamProtocolError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
}

/** The response must be rejected with `code`, whether it arrives in one read or one byte per read. */
function assertRejects(
  label: string,
  input: string | Buffer,
  opts: { noBody?: boolean; eof?: boolean; maxHead?: number; code?: string } = {},
): void {
  const code = opts.code ?? 'UPSTREAM_PROTOCOL';
  assert.throws(
    () => feed([input], opts),
    (e) => assertProtocolError(e, code),
    `${label} (one read)`,
  );
  assert.throws(
    () => feed(oneByteAtATime(input), opts),
    (e) => assertProtocolError(e, code),
    `${label} (bytewise)`,
  );
}

// --- 1. framing modes and keep-alive -------------------------------------------------------------

test('Content-Length body: head, body slices, one end; last only on the completing slice', () => {
  const { rec, parser } = feed(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello']);
  assert.deepEqual(rec.heads, [{ kind: 'head', status: 200, headers: ['Content-Length', '5', 'X-A', 'b'] }]);
  assert.deepEqual(
    rec.bodies.map((b) => [b.bytes.toString(), b.last]),
    [['hello', true]],
  );
  assert.equal(rec.ends, 1);
  assert.equal(parser.done, true);
  assert.equal(parser.status, 200);
  assert.equal(parser.keepAlive, true);
  assert.equal(parser.keepAliveHintMs, -1);
  assert.equal(parser.trailingBytes, 0);

  const split = feed(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe', 'l', 'lo']);
  assert.deepEqual(
    split.rec.bodies.map((b) => [b.bytes.toString(), b.last]),
    [
      ['he', false],
      ['l', false],
      ['lo', true],
    ],
  );
  // `last` comes before the end, and the end comes right after it.
  assert.deepEqual(
    split.rec.events.slice(-2).map((e) => e.kind),
    ['body', 'end'],
  );
});

test('Content-Length: 0 ends at the head; a slice carrying the end of the body and more bytes is cut', () => {
  const zero = feed(['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
  assert.deepEqual(
    zero.rec.events.map((e) => e.kind),
    ['head', 'end'],
  );
  assert.equal(zero.parser.done, true);
  assert.equal(zero.parser.keepAlive, true);

  const extra = feed(['HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n', 'abcXY']);
  assert.deepEqual(
    extra.rec.bodies.map((b) => [b.bytes.toString(), b.last]),
    [['abc', true]],
  );
  assert.equal(extra.parser.trailingBytes, 2);
});

test('chunked: extensions, uppercase hex, trailers dropped, one end', () => {
  const wire =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5;name=value;flag\r\nhello\r\n' +
    'A\r\n0123456789\r\n' +
    '1a \t; x="y"\r\nabcdefghijklmnopqrstuvwxyz\r\n' +
    '0;last\r\nX-Checksum: abc\r\nX-Other:\tq\r\n\r\n';
  const { rec, parser } = feed([wire]);
  assert.equal(rec.heads.length, 1);
  assert.deepEqual(rec.heads[0].headers, ['Transfer-Encoding', 'chunked']);
  assert.equal(rec.body.toString(), 'hello0123456789abcdefghijklmnopqrstuvwxyz');
  assert.ok(
    rec.bodies.every((b) => !b.last),
    'last is for Content-Length bodies only',
  );
  assert.equal(rec.ends, 1);
  assert.equal(rec.events.at(-1)?.kind, 'end');
  assert.equal(parser.done, true);
  assert.equal(parser.keepAlive, true);
  assert.equal(parser.trailingBytes, 0);

  const bare = feed(['HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n0\r\n\r\n']);
  assert.deepEqual(
    bare.rec.events.map((e) => e.kind),
    ['head', 'end'],
  );
});

test('no length: the body runs until EOF, finishEof ends it, and the connection is not reused', () => {
  const { rec, parser } = feed(['HTTP/1.1 200 OK\r\nX: y\r\n\r\nabc', 'def']);
  assert.equal(parser.untilEof, true);
  assert.equal(parser.done, false);
  assert.equal(rec.ends, 0);
  assert.equal(rec.body.toString(), 'abcdef');
  assert.equal(parser.finishEof(), true);
  assert.equal(rec.ends, 1);
  assert.equal(parser.done, true);
  assert.equal(parser.keepAlive, false);

  const empty = feed(['HTTP/1.1 200 OK\r\n\r\n'], { eof: true });
  assert.equal(empty.eof, true);
  assert.deepEqual(
    empty.rec.events.map((e) => e.kind),
    ['head', 'end'],
  );
});

test('finishEof: false for a cut Content-Length or chunked body, a cut head, or nothing at all', () => {
  const cutCl = feed(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel'], { eof: true });
  assert.equal(cutCl.eof, false);
  assert.equal(cutCl.rec.ends, 0);
  const cutChunk = feed(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'], { eof: true });
  assert.equal(cutChunk.eof, false);
  assert.equal(cutChunk.rec.ends, 0);
  const cutHead = feed(['HTTP/1.1 200 OK\r\nContent-Len'], { eof: true });
  assert.equal(cutHead.eof, false);
  assert.equal(cutHead.parser.started, true);
  const none = feed([], { eof: true });
  assert.equal(none.eof, false);
  assert.equal(none.parser.started, false);
  // A complete response stays complete when the connection then ends.
  const whole = feed(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'], { eof: true });
  assert.equal(whole.eof, true);
  assert.equal(whole.rec.ends, 1);
});

test('HEAD (reset(true)) and 204/304: no body whatever the length headers say', () => {
  for (const [label, wire, noBody] of [
    ['HEAD with Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true],
    ['HEAD chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true],
    ['HEAD without length', 'HTTP/1.1 200 OK\r\n\r\n', true],
    ['204 without CL', 'HTTP/1.1 204 No Content\r\n\r\n', false],
    ['204 with CL', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', false],
    ['304 without CL', 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', false],
    ['304 with CL', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n', false],
  ] as const) {
    const { rec, parser } = feed([wire], { noBody });
    assert.deepEqual(
      rec.events.map((e) => e.kind),
      ['head', 'end'],
      label,
    );
    assert.equal(parser.done, true, label);
    assert.equal(parser.untilEof, false, label);
    assert.equal(parser.keepAlive, true, label);
    // Anything after the head belongs to no response.
    parser.execute(Buffer.from('hello'));
    assert.equal(parser.trailingBytes, 5, label);
    assert.equal(rec.bodies.length, 0, label);
  }
  // The same head for a GET is framed by its Content-Length.
  const get = feed(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello']);
  assert.equal(get.rec.body.toString(), 'hello');
});

test('1xx heads (100, 103) are skipped; only the final head is reported', () => {
  const wire =
    'HTTP/1.1 100 Continue\r\n\r\n' +
    'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok';
  for (const pieces of [[wire], oneByteAtATime(wire)]) {
    const { rec, parser } = feed(pieces);
    assert.deepEqual(rec.heads, [{ kind: 'head', status: 201, headers: ['Content-Length', '2'] }]);
    assert.equal(rec.body.toString(), 'ok');
    assert.equal(rec.ends, 1);
    assert.equal(parser.status, 201);
  }
  // A 1xx alone is not a response yet.
  const only = feed(['HTTP/1.1 100 Continue\r\n\r\n'], { eof: true });
  assert.equal(only.rec.events.length, 0);
  assert.equal(only.eof, false);
});

test('101 Switching Protocols is an error (no upgrade was asked for)', () => {
  assertRejects(
    '101',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  );
});

test('keepAlive and keepAliveHintMs for each version and Connection/Keep-Alive header', () => {
  const cases: [string, string, boolean, number][] = [
    ['1.1 plain', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', true, -1],
    ['1.1 close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', false, -1],
    [
      '1.1 close in a list',
      'HTTP/1.1 200 OK\r\nconnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n',
      false,
      -1,
    ],
    ['1.1 no length', 'HTTP/1.1 200 OK\r\n\r\n', false, -1],
    ['1.0 plain', 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', false, -1],
    ['1.0 keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', true, -1],
    [
      '1.0 keep-alive chunked',
      'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      true,
      -1,
    ],
    ['1.0 keep-alive no length', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n', false, -1],
    [
      '1.0 keep-alive, timeout',
      'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n',
      true,
      5000,
    ],
    ['1.1 timeout=5', 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n', true, 5000],
    [
      '1.1 max first',
      'HTTP/1.1 200 OK\r\nKeep-Alive: max=3, Timeout = 7\r\nContent-Length: 0\r\n\r\n',
      true,
      7000,
    ],
    ['1.1 max only', 'HTTP/1.1 200 OK\r\nKeep-Alive: max=3\r\nContent-Length: 0\r\n\r\n', true, -1],
    [
      '1.1 close + timeout',
      'HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n',
      false,
      5000,
    ],
  ];
  for (const [label, wire, keepAlive, hint] of cases) {
    const { parser, rec } = feed([wire], { eof: false });
    if (!parser.done) assert.equal(parser.finishEof(), true, label);
    assert.equal(rec.ends, 1, label);
    assert.equal(parser.keepAlive, keepAlive, label);
    assert.equal(parser.keepAliveHintMs, hint, label);
  }
});

test('reset: one parser reads responses one after another; outcomes of the last one do not leak', () => {
  const rec = new Recorder();
  const parser = new ResponseParser(rec, MAX_HEAD);
  parser.reset(false);
  parser.execute(bytes('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=9\r\nContent-Length: 1\r\n\r\na'));
  assert.equal(parser.keepAliveHintMs, 9000);
  assert.equal(parser.done, true);
  parser.reset(true);
  assert.equal(parser.started, false);
  assert.equal(parser.done, false);
  assert.equal(parser.keepAliveHintMs, -1);
  parser.execute(bytes('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n'));
  assert.equal(parser.status, 404);
  assert.equal(parser.done, true);
  parser.reset(false);
  parser.execute(bytes('HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n'));
  assert.deepEqual(
    rec.heads.map((h) => h.status),
    [200, 404, 500],
  );
  assert.equal(rec.body.toString(), 'ab');
  assert.equal(rec.ends, 3);
});

test('stop: every later byte is ignored', () => {
  const rec = new Recorder();
  const parser = new ResponseParser(rec, MAX_HEAD);
  parser.reset(false);
  parser.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab'));
  parser.stop();
  parser.execute(bytes('cd'));
  assert.equal(rec.body.toString(), 'ab');
  assert.equal(rec.ends, 0);
  assert.equal(parser.finishEof(), false);
});

test('header values: OWS trimmed, HTAB and obs-text kept inside, empty values allowed; names as sent', () => {
  const { rec } = feed([
    bytes(
      'HTTP/1.1 299 \xe9t\xe9\tok\r\nX-Tab:\ta\tb\t\r\nX-Empty:\r\nX-Spaces:   \r\nX-Latin: caf\xe9\r\nx-lower: 1\r\nContent-Length: 0\r\n\r\n',
    ),
  ]);
  assert.equal(rec.heads[0].status, 299);
  assert.deepEqual(rec.heads[0].headers, [
    'X-Tab',
    'a\tb',
    'X-Empty',
    '',
    'X-Spaces',
    '',
    'X-Latin',
    'caf\xe9',
    'x-lower',
    '1',
    'Content-Length',
    '0',
  ]);
  // A status line with no reason at all, and with an empty one.
  assert.equal(feed(['HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n']).rec.heads[0].status, 200);
  assert.equal(feed(['HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n']).rec.heads[0].status, 200);
});

test('leniencies the differential relies on: OWS with HTAB, HTTP/1.0 1xx, dropped extensions and trailers', () => {
  const te = feed(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n']);
  assert.equal(te.rec.body.toString(), 'abc');
  assert.equal(te.parser.done, true);
  const cl = feed(['HTTP/1.1 200 OK\r\nContent-Length:\t3\t\r\n\r\nabcd']);
  assert.equal(cl.rec.body.toString(), 'abc');
  assert.equal(cl.parser.trailingBytes, 1);
  const info10 = feed(['HTTP/1.0 103 Info\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx']);
  assert.deepEqual(
    info10.rec.heads.map((h) => h.status),
    [200],
  );
  const dropped = feed([
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 ; \xb9e = "1"\r\nabc\r\n1\t\r\nd\r\n0\r\nno colon \xff\r\n\r\n',
  ]);
  assert.equal(dropped.rec.body.toString(), 'abcd');
  assert.equal(dropped.rec.ends, 1);
});

// --- 2. every byte split ------------------------------------------------------------------------

const VALID: { label: string; wire: string; noBody?: boolean; eof?: boolean }[] = [
  { label: 'CL', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world' },
  { label: 'CL 0', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
  {
    label: 'CL agreeing list',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc',
  },
  {
    label: 'chunked with extensions and trailers',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\nF\r\n0123456789abcde\r\n0\r\nT: v\r\nU:w\r\n\r\n',
  },
  {
    label: 'chunked, no trailers',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
  },
  { label: 'EOF', wire: 'HTTP/1.0 200 OK\r\nServer: s\r\n\r\nuntil the end', eof: true },
  { label: 'HEAD', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', noBody: true },
  { label: '204', wire: 'HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n' },
  { label: '304', wire: 'HTTP/1.1 304 Not Modified\r\n\r\n' },
  {
    label: '1xx then chunked',
    wire: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  },
  { label: 'no reason, empty value', wire: 'HTTP/1.1 500\r\nX:\r\nContent-Length: 1\r\n\r\n!' },
];

test('every 2-piece split and one byte per read give the same events as one read', () => {
  for (const { label, wire, noBody, eof } of VALID) {
    const ref = feed([wire], { noBody, eof });
    assert.equal(ref.rec.ends, 1, `${label}: reference ends once`);
    assert.equal(ref.rec.heads.length, 1, `${label}: one head`);
    if (eof) assert.equal(ref.eof, true);
    const want = ref.rec.summary();
    const b = bytes(wire);
    for (let i = 1; i < b.length; i++) {
      const got = feed([b.subarray(0, i), b.subarray(i)], { noBody, eof });
      assert.deepEqual(got.rec.summary(), want, `${label}: split at ${i}`);
      assert.equal(got.parser.keepAlive, ref.parser.keepAlive, `${label}: split at ${i}`);
      assert.equal(got.parser.trailingBytes, 0, `${label}: split at ${i}`);
    }
    const bytewise = feed(oneByteAtATime(wire), { noBody, eof });
    assert.deepEqual(bytewise.rec.summary(), want, `${label}: bytewise`);
    assert.equal(bytewise.parser.done, true, `${label}: bytewise done`);
  }
});

test('trailingBytes counts every byte after a complete response, in any split', () => {
  for (const { label, wire, noBody, eof } of VALID) {
    if (eof) continue;
    const extra = 'HTTP/1.1 200 OK\r\n\r\n';
    const b = bytes(wire + extra);
    for (let i = 1; i < b.length; i++) {
      const got = feed([b.subarray(0, i), b.subarray(i)], { noBody });
      assert.equal(got.parser.trailingBytes, extra.length, `${label}: split at ${i}`);
      assert.equal(got.rec.ends, 1, `${label}: split at ${i}`);
      assert.equal(got.rec.heads.length, 1, `${label}: the extra head is not parsed (split at ${i})`);
    }
    const bytewise = feed(oneByteAtATime(b), { noBody });
    assert.equal(bytewise.parser.trailingBytes, extra.length, `${label}: bytewise`);
  }
});

// --- 3. rejections ------------------------------------------------------------------------------

const OK_TAIL = 'Content-Length: 0\r\n\r\n';

test('bad status lines are rejected', () => {
  for (const line of [
    'HTTP/2 200 OK',
    'HTTP/2.0 200 OK',
    'HTTP/1.2 200 OK',
    'HTTP/0.9 200 OK',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 099 Low',
    'HTTP/1.1 2x0 OK',
    'http/1.1 200 OK',
    'Http/1.1 200 OK',
    'HTTP/1.1200 OK',
    'HTTP/1.1 200OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.1\t200 OK',
    ' HTTP/1.1 200 OK',
    'HTTP/1.1 200 OK\x01',
    'ICY 200 OK',
    '',
  ]) {
    assertRejects(JSON.stringify(line), `${line}\r\n${OK_TAIL}`);
  }
});

test('line endings: bare LF or bare CR anywhere in the head is rejected', () => {
  assertRejects('LF after status line', `HTTP/1.1 200 OK\n${OK_TAIL}`);
  assertRejects('LF after a field', `HTTP/1.1 200 OK\r\nX: y\n${OK_TAIL}`);
  assertRejects('LF-only response', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok');
  assertRejects('LF-only response, 1.0', 'HTTP/1.0 200 OK\n\nbody');
  assertRejects('LF LF ending an otherwise CRLF head', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok');
  assertRejects('CR after status line', `HTTP/1.1 200 OK\r${OK_TAIL}`);
  assertRejects('CR in a value', `HTTP/1.1 200 OK\r\nX: a\rb\r\n${OK_TAIL}`);
  assertRejects('CR CR LF', `HTTP/1.1 200 OK\r\r\n${OK_TAIL}`);
  assertRejects('CR before the blank line', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\r\n\r\n');
});

test('field lines: control bytes, obs-fold, space before colon, bad names are rejected', () => {
  const cases: [string, string][] = [
    ['NUL in value', 'X: a\x00b'],
    ['SOH in value', 'X: a\x01b'],
    ['ESC in value', 'X: \x1b[0m'],
    ['US in value', 'X: a\x1f'],
    ['DEL in value', 'X: a\x7fb'],
    ['VT in value', 'X: a\x0bb'],
    ['obs-fold with SP', 'X: a\r\n b'],
    ['obs-fold with HTAB', 'X: a\r\n\tb'],
    ['space before colon', 'X : a'],
    ['HTAB before colon', 'X\t: a'],
    ['empty name', ': a'],
    ['no colon', 'Xvalue'],
    ['name with space', 'X Y: a'],
    ['name with paren', 'X(y): a'],
    ['name with quote', 'X"y: a'],
    ['name with slash', 'X/y: a'],
    ['name with obs-text', '\xc4: a'],
    ['name with NUL', 'X\x00: a'],
  ];
  for (const [label, line] of cases) assertRejects(label, `HTTP/1.1 200 OK\r\n${line}\r\n${OK_TAIL}`);
  // HTAB is allowed inside a value.
  assert.deepEqual(feed([`HTTP/1.1 200 OK\r\nX: a\tb\r\n${OK_TAIL}`]).rec.heads[0].headers.slice(0, 2), [
    'X',
    'a\tb',
  ]);
});

test('Content-Length: conflicting or non-digit values are rejected; agreeing ones accepted', () => {
  for (const [label, fields] of [
    ['repeated, different', 'Content-Length: 1\r\nContent-Length: 2'],
    ['list, different', 'Content-Length: 1, 2'],
    ['list then field, different', 'Content-Length: 1, 1\r\nContent-Length: 2'],
    ['empty list element', 'Content-Length: 1,,1'],
    ['trailing comma', 'Content-Length: 1,'],
    ['empty', 'Content-Length:'],
    ['negative', 'Content-Length: -1'],
    ['plus sign', 'Content-Length: +1'],
    ['hex', 'Content-Length: 0x10'],
    ['exponent', 'Content-Length: 1e3'],
    ['inner space', 'Content-Length: 1 2'],
    ['fraction', 'Content-Length: 1.0'],
    ['16 digits', 'Content-Length: 1000000000000000'],
  ] as const) {
    assertRejects(label, `HTTP/1.1 200 OK\r\n${fields}\r\n\r\nx`);
  }
  for (const fields of [
    'Content-Length: 1, 1',
    'Content-Length: 1\r\nContent-Length: 1',
    'content-length:1 ,\t1',
    'Content-Length: 001',
  ]) {
    const { rec } = feed([`HTTP/1.1 200 OK\r\n${fields}\r\n\r\nxy`]);
    assert.equal(rec.body.toString(), 'x', fields);
    assert.equal(rec.ends, 1, fields);
  }
});

test('Transfer-Encoding: only a single `chunked`, never next to Content-Length', () => {
  for (const [label, fields] of [
    ['CL then TE', 'Content-Length: 5\r\nTransfer-Encoding: chunked'],
    ['TE then CL', 'Transfer-Encoding: chunked\r\nContent-Length: 5'],
    ['gzip, chunked', 'Transfer-Encoding: gzip, chunked'],
    ['chunked, chunked', 'Transfer-Encoding: chunked, chunked'],
    ['identity', 'Transfer-Encoding: identity'],
    ['gzip', 'Transfer-Encoding: gzip'],
    ['empty', 'Transfer-Encoding:'],
    ['repeated', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked'],
  ] as const) {
    assertRejects(label, `HTTP/1.1 200 OK\r\n${fields}\r\n\r\n0\r\n\r\n`);
  }
  // Also for a HEAD response and a 204: the head itself is malformed.
  assertRejects(
    'CL+TE on HEAD',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
    {
      noBody: true,
    },
  );
});

test('chunked framing errors', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const [label, body] of [
    ['non-hex size', 'xyz\r\nabc\r\n0\r\n\r\n'],
    ['empty size', '\r\nabc\r\n0\r\n\r\n'],
    ['empty size with extension', ';a\r\nabc\r\n0\r\n\r\n'],
    ['16 hex digits', '0000000000000001\r\nx\r\n0\r\n\r\n'],
    ['16 hex digits, huge', 'ffffffffffffffff\r\nx\r\n0\r\n\r\n'],
    ['negative size', '-1\r\nx\r\n0\r\n\r\n'],
    ['0x prefix', '0x1\r\nx\r\n0\r\n\r\n'],
    ['size ended by bare LF', '1\nx\r\n0\r\n\r\n'],
    ['size ended by bare CR', '1\rx\r\n0\r\n\r\n'],
    ['control byte in extension', '1;a\x01\r\nx\r\n0\r\n\r\n'],
    ['bare LF in extension', '1;a\nb\r\nx\r\n0\r\n\r\n'],
    ['data longer than size', '5\r\nhelloX\r\n0\r\n\r\n'],
    ['data ended by bare CR', '5\r\nhello\rX0\r\n\r\n'],
    ['data ended by bare LF', '5\r\nhello\n0\r\n\r\n'],
    ['data ended by LF CR', '5\r\nhello\n\r0\r\n\r\n'],
    ['control byte in trailer', '0\r\nX: a\x01b\r\n\r\n'],
    ['NUL in trailer', '0\r\nX: \x00\r\n\r\n'],
    ['bare LF in trailer', '0\r\nX: a\n\r\n'],
    ['bare CR in trailer', '0\r\nX: a\rb\r\n\r\n'],
    ['bare LF ending trailers', '0\r\nX: a\r\n\n'],
    ['bare LF after last chunk', '0\r\n\n'],
  ] as const) {
    assertRejects(label, head + body);
  }
  // 15 hex digits is the longest size accepted (the body is then cut short, not rejected).
  const longest = feed([`${head}00000000000000F\r\n0123456789abcde\r\n0\r\n\r\n`]);
  assert.equal(longest.rec.body.toString(), '0123456789abcde');
  assert.equal(longest.rec.ends, 1);
});

test('head over maxHeadBytes: UPSTREAM_HEAD_TOO_LARGE in one read or many; exactly the limit passes', () => {
  const max = 100;
  const headOf = (n: number): string => {
    const start = 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Pad: ';
    return start + 'p'.repeat(n - start.length);
  };
  const atLimit = `${headOf(max)}\r\n\r\nx`;
  assert.equal(atLimit.indexOf('\r\n\r\n'), max);
  const ok = feed([atLimit], { maxHead: max });
  assert.equal(ok.rec.body.toString(), 'x');
  assert.equal(ok.rec.ends, 1);
  const okBytewise = feed(oneByteAtATime(atLimit), { maxHead: max });
  assert.deepEqual(okBytewise.rec.summary(), ok.rec.summary());
  const b = bytes(atLimit);
  for (let i = 1; i < b.length; i++) {
    assert.deepEqual(
      feed([b.subarray(0, i), b.subarray(i)], { maxHead: max }).rec.summary(),
      ok.rec.summary(),
      `at the limit, split at ${i}`,
    );
  }

  const over = `${headOf(max + 1)}\r\n\r\nx`;
  assertRejects('one over', over, { maxHead: max, code: 'UPSTREAM_HEAD_TOO_LARGE' });
  assertRejects('far over', `${headOf(max * 10)}\r\n\r\nx`, {
    maxHead: max,
    code: 'UPSTREAM_HEAD_TOO_LARGE',
  });
  const ob = bytes(over);
  for (let i = 1; i < ob.length; i++) {
    assert.throws(
      () => feed([ob.subarray(0, i), ob.subarray(i)], { maxHead: max }),
      (e) => assertProtocolError(e, 'UPSTREAM_HEAD_TOO_LARGE'),
      `one over, split at ${i}`,
    );
  }

  // A head that never ends is refused once it passes the limit (buffering stays bounded).
  const rec = new Recorder();
  const parser = new ResponseParser(rec, max);
  parser.reset(false);
  const start = bytes('HTTP/1.1 200 OK\r\nX: ');
  parser.execute(start);
  let fed = start.length;
  assert.throws(
    () => {
      while (fed < 10 * max) {
        fed++;
        parser.execute(bytes('a'));
      }
    },
    (e) => assertProtocolError(e, 'UPSTREAM_HEAD_TOO_LARGE'),
  );
  assert.ok(fed <= max + 4, `refused after ${fed} bytes`);

  // The limit applies to each head, not to 1xx heads and the final head together.
  const informational = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
  const withHints = informational.repeat(5) + atLimit;
  assert.equal(feed([withHints], { maxHead: max }).rec.ends, 1);
  assert.equal(feed(oneByteAtATime(withHints), { maxHead: max }).rec.ends, 1);

  // Trailers count against the same limit.
  const bigTrailer = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ${'t'.repeat(max)}\r\n\r\n`;
  assertRejects('trailers', bigTrailer, { maxHead: max, code: 'UPSTREAM_HEAD_TOO_LARGE' });
});

// --- 4. properties ------------------------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);
/** VCHAR and obs-text: what a field value may start and end with. */
const vcharOrObs = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
);
const ows = fc.array(fc.constantFrom(' ', '\t'), { maxLength: 2 }).map((a) => a.join(''));

const fieldName = fc
  .array(fc.constantFrom(...TCHARS), { minLength: 1, maxLength: 12 })
  .map((a) => a.join(''))
  .filter((n) => !FRAMING_NAMES.has(n.toLowerCase()));
/** A value as the parser reports it (no leading/trailing OWS); inner SP/HTAB allowed. */
const fieldValue = fc
  .array(fc.oneof({ weight: 4, arbitrary: vcharOrObs }, fc.constantFrom(' ', '\t')), { maxLength: 16 })
  .map((a) => a.join('').replace(/^[ \t]+|[ \t]+$/g, ''));

interface Generated {
  wire: Buffer;
  status: number;
  headers: string[];
  body: Buffer;
  eof: boolean;
}

const generatedResponse: fc.Arbitrary<Generated> = fc
  .record({
    minor: fc.constantFrom('0', '1'),
    status: fc.oneof(fc.integer({ min: 200, max: 599 }), fc.constantFrom(200, 204, 304, 404)),
    reason: fc.option(
      fc.array(fc.oneof(vcharOrObs, fc.constantFrom(' ', '\t')), { maxLength: 12 }).map((a) => a.join('')),
    ),
    fields: fc.array(fc.tuple(fieldName, ows, fieldValue, ows), { maxLength: 6 }),
    body: fc.uint8Array({ maxLength: 200 }),
    framing: fc.constantFrom('cl', 'chunked', 'eof'),
    chunkCuts: fc.array(fc.integer({ min: 1, max: 199 }), { maxLength: 6 }),
    upperHex: fc.boolean(),
    extension: fc.boolean(),
    trailers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 2 }),
    informational: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
  })
  .map((g): Generated => {
    const noBody = g.status === 204 || g.status === 304;
    const body = noBody ? Buffer.alloc(0) : Buffer.from(g.body);
    const headers: string[] = [];
    let head = `HTTP/1.${g.minor} ${g.status}${g.reason === null ? '' : ` ${g.reason}`}\r\n`;
    for (const [name, pre, value, post] of g.fields) {
      head += `${name}:${pre}${value}${post}\r\n`;
      headers.push(name, value);
    }
    const parts: Buffer[] = [];
    for (const s of g.informational) parts.push(bytes(`HTTP/1.1 ${s} Info\r\nLink: </x>\r\n\r\n`));
    if (g.framing === 'cl' && !noBody) {
      head += `Content-Length: ${body.length}\r\n`;
      headers.push('Content-Length', String(body.length));
    } else if (g.framing === 'chunked' && !noBody) {
      head += 'Transfer-Encoding: chunked\r\n';
      headers.push('Transfer-Encoding', 'chunked');
    }
    parts.push(bytes(`${head}\r\n`));
    if (g.framing === 'chunked' && !noBody) {
      const cuts = [...new Set(g.chunkCuts.filter((c) => c < body.length))].sort((a, b) => a - b);
      let from = 0;
      for (const to of [...cuts, body.length]) {
        if (to === from) continue;
        const size = (to - from).toString(16);
        parts.push(bytes(`${g.upperHex ? size.toUpperCase() : size}${g.extension ? ';e=1' : ''}\r\n`));
        parts.push(body.subarray(from, to), bytes('\r\n'));
        from = to;
      }
      parts.push(bytes(`0\r\n${g.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`));
    } else if (!noBody) {
      parts.push(body);
    }
    return {
      wire: Buffer.concat(parts),
      status: g.status,
      headers,
      body,
      eof: g.framing === 'eof' && !noBody,
    };
  });

/** Cut positions inside `len` bytes, as pieces. */
function splitAt(wire: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, wire.length]) {
    out.push(wire.subarray(from, p));
    from = p;
  }
  return out;
}

test('property: generated responses parse back to their status, headers and body however split', () => {
  fc.assert(
    fc.property(generatedResponse, fc.array(fc.nat(), { maxLength: 8 }), (g, cuts) => {
      const { rec, parser, eof } = feed(splitAt(g.wire, cuts), { eof: g.eof });
      if (g.eof) assert.equal(eof, true);
      assert.equal(parser.done, true);
      assert.deepEqual(rec.heads, [{ kind: 'head', status: g.status, headers: g.headers }]);
      assert.ok(rec.body.equals(g.body), 'body');
      assert.equal(rec.ends, 1);
      assert.equal(rec.events.at(-1)?.kind, 'end');
      assert.equal(parser.trailingBytes, 0);
    }),
    { numRuns: 400 },
  );
});

interface NodeOutcome {
  accepted: boolean;
  status?: number;
  body?: Buffer;
  error?: string;
}

/** Sends `wire` as the whole response to one `node:http` GET and reports what llhttp made of it. */
function nodeParse(port: number, server: { next: Buffer }, wire: Buffer): Promise<NodeOutcome> {
  server.next = wire;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: NodeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const timer = setTimeout(() => {
      req.destroy();
      settle({ accepted: false, error: 'timeout' });
    }, 2000);
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => settle({ accepted: true, status: res.statusCode, body: Buffer.concat(parts) }));
      res.on('error', (e) => settle({ accepted: false, error: e.message }));
      res.on('aborted', () => settle({ accepted: false, error: 'aborted' }));
    });
    req.on('error', (e) => settle({ accepted: false, error: `${(e as NodeJS.ErrnoException).code}` }));
  });
}

/** Offset just past the final (non-1xx) head of an accepted response. */
function finalHeadEnd(wire: Buffer): number {
  let pos = 0;
  for (;;) {
    const end = wire.indexOf('\r\n\r\n', pos, 'latin1') + 4;
    if (wire[pos + 9] !== 0x31) return end;
    pos = end;
  }
}

/**
 * Where llhttp (9.x, strict, as node runs it) and Legate knowingly differ. When llhttp disagrees,
 * each normalisation in turn rewrites the bytes at that one spot, and llhttp must then agree; any
 * other disagreement fails the property. What the differential found (90k mutated responses, 22k
 * of them accepted by Legate and compared):
 * 1. llhttp keeps a trailing HTAB in a value: `Transfer-Encoding: chunked<HTAB>` is not chunked to
 *    it (the chunked bytes become a read-to-EOF body) and `Content-Length: 3<HTAB>` is invalid.
 *    RFC 9110 §5.5 excludes OWS, HTAB included, from field values, as Legate does; Legate
 *    re-frames the body towards the client, so no later parser sees these bytes.
 * 2. An `HTTP/1.0` 1xx head: llhttp applies HTTP/1.0 close semantics to it and fails on the next
 *    head (HPE_CLOSED_CONNECTION); Legate skips any 1xx head (RFC 9110 §15.2).
 * 3. The parts of a chunked body Legate drops are checked only for bytes that could move the
 *    framing (CR, LF, controls): llhttp also rejects trailer lines that are not well-formed fields
 *    (HPE_INVALID_HEADER_TOKEN), extensions outside its token grammar, including the BWS around `;`
 *    that RFC 9112 §7.1.1 allows (HPE_STRICT), and whitespace after a size (HPE_INVALID_CHUNK_SIZE).
 * Beyond 1, no response was found that both accept with a different status or body.
 */
const KNOWN_DIFFERENCES: {
  name: string;
  apply: (wire: Buffer, theirs: NodeOutcome, ours: Recorder) => Buffer | null;
}[] = [
  {
    name: 'trailing HTAB in Transfer-Encoding/Content-Length',
    apply: (wire) => {
      const end = finalHeadEnd(wire);
      const head = wire
        .toString('latin1', 0, end)
        .replace(/(\r\n(?:transfer-encoding|content-length):[^\r]*?)[ \t]*\t[ \t]*(?=\r\n)/gi, '$1');
      return Buffer.concat([bytes(head), wire.subarray(end)]);
    },
  },
  {
    name: 'HTTP/1.0 1xx head',
    apply: (wire, theirs) => {
      if (theirs.error !== 'HPE_CLOSED_CONNECTION') return null;
      const end = finalHeadEnd(wire);
      const heads = wire
        .toString('latin1', 0, end)
        .replace(/(^|\r\n\r\n)HTTP\/1\.0 (1\d\d)/g, '$1HTTP/1.1 $2');
      return Buffer.concat([bytes(heads), wire.subarray(end)]);
    },
  },
  {
    name: 'dropped chunk extensions and trailers',
    apply: (wire, theirs, ours) => {
      const chunked = ours.heads[0].headers.some(
        (v, i) => i % 2 === 0 && v.toLowerCase() === 'transfer-encoding',
      );
      if (
        !chunked ||
        !['HPE_INVALID_HEADER_TOKEN', 'HPE_STRICT', 'HPE_INVALID_CHUNK_SIZE'].includes(theirs.error ?? '')
      ) {
        return null;
      }
      const body = ours.body;
      return Buffer.concat([
        wire.subarray(0, finalHeadEnd(wire)),
        body.length === 0
          ? Buffer.alloc(0)
          : Buffer.concat([bytes(`${body.length.toString(16)}\r\n`), body, bytes('\r\n')]),
        bytes('0\r\n\r\n'),
      ]);
    },
  },
];

const mutation = fc.record({
  kind: fc.constantFrom('set', 'insert', 'delete'),
  at: fc.nat(),
  byte: fc.oneof(
    fc.constantFrom(
      0x0d,
      0x0a,
      0x20,
      0x09,
      0x3a,
      0x3b,
      0x2c,
      0x22,
      0x30,
      0x31,
      0x61,
      0x41,
      0x2d,
      0x00,
      0x7f,
      0x80,
    ),
    fc.integer({ min: 0, max: 255 }),
  ),
});

function mutate(wire: Buffer, ms: { kind: string; at: number; byte: number }[]): Buffer {
  let b = Buffer.from(wire);
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else if (at < b.length && m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (at < b.length) b[at] = m.byte;
  }
  return b;
}

test('differential: a mutated response that Legate accepts, llhttp accepts with the same status and body', async (t) => {
  const state = { next: Buffer.alloc(0) };
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    // Answer once the request arrived, so the client is reading when the bytes come.
    sock.once('data', () => sock.end(state.next));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;

  let compared = 0;
  const used = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(generatedResponse, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (g, ms) => {
      const wire = mutate(g.wire, ms);
      let ours: Parsed;
      try {
        ours = feed([wire]);
      } catch (err) {
        if (err instanceof UpstreamProtocolError) return;
        throw err;
      }
      if (!ours.parser.done && !ours.parser.finishEof()) return;
      compared++;
      // Only the bytes Legate took as this response: what follows would be another's.
      const consumed = wire.subarray(0, wire.length - ours.parser.trailingBytes);
      const head = ours.rec.heads[0];
      const agrees = (o: NodeOutcome): boolean =>
        o.accepted && o.status === head.status && o.body?.equals(ours.rec.body) === true;
      let sent = consumed;
      let theirs = await nodeParse(port, state, sent);
      for (const n of KNOWN_DIFFERENCES) {
        if (agrees(theirs)) break;
        const normalised = n.apply(sent, theirs, ours.rec);
        if (normalised === null || normalised.equals(sent)) continue;
        used.set(n.name, (used.get(n.name) ?? 0) + 1);
        sent = normalised;
        theirs = await nodeParse(port, state, sent);
      }
      assert.deepEqual(
        { accepted: theirs.accepted, status: theirs.status, body: theirs.body?.toString('latin1') },
        { accepted: true, status: head.status, body: ours.rec.body.toString('latin1') },
        `llhttp: ${theirs.error ?? 'accepted'} for ${JSON.stringify(sent.toString('latin1'))}`,
      );
    }),
    { numRuns: 1000 },
  );
  t.diagnostic(`compared ${compared}; normalised: ${JSON.stringify([...used])}`);
  // The property is vacuous if nearly every mutation is rejected.
  assert.ok(compared >= 100, `only ${compared} mutated responses were accepted and compared`);
});
