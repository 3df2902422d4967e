/**
 * Raw-socket helpers for the security suites (smuggling, paths, trust): a client that writes exact
 * bytes and reads every response the gateway sends until it closes the connection, and an upstream
 * that parses HTTP/1.1 itself so it records the request bytes exactly as Legate framed them (chunk
 * sizes, extensions, trailers) — node's server would hide those.
 */
import net, { type AddressInfo } from 'node:net';

export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Lower-case names, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

export interface RawExchange {
  /** Every complete response read, in order. */
  readonly responses: RawResponse[];
  /** Bytes after the last complete response (should be empty). */
  readonly rest: string;
  /** The gateway ended the connection (FIN or reset) before `waitMs` ran out. */
  readonly closedByPeer: boolean;
}

export function header(res: RawResponse, name: string): string | undefined {
  for (const [n, v] of res.headers) if (n === name) return v;
  return undefined;
}

/** Parses consecutive HTTP/1.1 responses framed by Content-Length (what Legate and our upstreams send). */
export function parseResponses(data: string): { responses: RawResponse[]; rest: string } {
  const responses: RawResponse[] = [];
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const lines = rest.slice(0, end).split('\r\n');
    const statusLine = lines[0];
    const headers: Array<[string, string]> = [];
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      headers.push([lines[i].slice(0, colon).toLowerCase(), lines[i].slice(colon + 1).trim()]);
    }
    const cl = headers.find(([n]) => n === 'content-length');
    const len = cl === undefined ? 0 : Number(cl[1]);
    if (rest.length < end + 4 + len) break;
    const body = rest.slice(end + 4, end + 4 + len);
    responses.push({ statusLine, status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + len);
  }
  return { responses, rest };
}

/**
 * Opens a connection, writes `payload` (latin1: one char = one byte), and reads until the gateway
 * closes the connection or `waitMs` passes (then closes it from our side).
 */
export function rawExchange(port: number, payload: string | string[], waitMs = 2000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let closedByPeer = false;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponses(data), closedByPeer });
    };
    const timer = setTimeout(finish, waitMs);
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
    });
    socket.on('end', () => {
      closedByPeer = true;
      finish();
    });
    socket.on('error', () => {
      closedByPeer = true;
      finish();
    });
    socket.on('close', () => {
      closedByPeer = true;
      finish();
    });
    socket.on('connect', () => {
      const parts = Array.isArray(payload) ? payload : [payload];
      for (const p of parts) socket.write(Buffer.from(p, 'latin1'));
    });
  });
}

export interface RecordedRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Names as sent by Legate, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Everything after the head, exactly as framed (chunk sizes, extensions, trailers). */
  readonly rawBody: string;
  /** The decoded body bytes. */
  readonly body: string;
}

export function reqHeader(r: RecordedRequest, name: string): string | undefined {
  for (const [n, v] of r.headers) if (n.toLowerCase() === name) return v;
  return undefined;
}

export interface RecordingUpstream {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Bytes Legate sent that are not valid HTTP/1.1 framing (must stay empty). */
  readonly malformed: string[];
  /**
   * Requests cut off by the connection closing before they were complete, one entry per
   * connection: what an upstream sees when a streamed request is aborted.
   */
  readonly truncated: string[];
  close(): Promise<void>;
}

/** Tries to take one request off the front of `buf`; null when incomplete. Throws on bad framing. */
function takeRequest(buf: string): { req: RecordedRequest; used: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = buf.slice(0, end).split('\r\n');
  const [method, target, version] = lines[0].split(' ');
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(lines[i])}`);
    headers.push([lines[i].slice(0, colon), lines[i].slice(colon + 1).trim()]);
  }
  const find = (n: string): string | undefined => headers.find(([h]) => h.toLowerCase() === n)?.[1];
  const start = end + 4;
  const te = find('transfer-encoding');
  const cl = find('content-length');
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') throw new Error(`unexpected transfer-encoding ${te}`);
    let pos = start;
    let body = '';
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd === -1) return null;
      const size = Number.parseInt(buf.slice(pos, lineEnd).split(';')[0], 16);
      if (Number.isNaN(size))
        throw new Error(`bad chunk size line ${JSON.stringify(buf.slice(pos, lineEnd))}`);
      pos = lineEnd + 2;
      if (size === 0) {
        // Trailer section: field lines until an empty line.
        const trailersEnd = buf.indexOf('\r\n', pos);
        if (trailersEnd === -1) return null;
        if (trailersEnd !== pos) {
          const blank = buf.indexOf('\r\n\r\n', pos);
          if (blank === -1) return null;
          pos = blank + 4;
        } else {
          pos += 2;
        }
        break;
      }
      if (buf.length < pos + size + 2) return null;
      body += buf.slice(pos, pos + size);
      pos += size + 2;
    }
    return {
      req: { method, target, version, headers, rawBody: buf.slice(start, pos), body },
      used: pos,
    };
  }
  const len = cl === undefined ? 0 : Number(cl);
  if (buf.length < start + len) return null;
  const body = buf.slice(start, start + len);
  return { req: { method, target, version, headers, rawBody: body, body }, used: start + len };
}

/**
 * Calls `onHead` with each request head read off `sock`, the blank line removed. For upstreams
 * that only receive bodyless requests (every byte after a head starts the next request).
 */
export function onRequestHeads(sock: net.Socket, onHead: (head: string) => void): void {
  let buf = '';
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      onHead(head);
    }
  });
}

/**
 * An HTTP/1.1 upstream over raw `net` that records each request and answers 200 with a JSON echo
 * of method and target (keep-alive). A request it cannot parse closes that connection and is kept
 * in `malformed`; one cut short by the connection closing is kept in `truncated`.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const malformed: string[] = [];
  const truncated: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        let taken: { req: RecordedRequest; used: number } | null;
        try {
          taken = takeRequest(buf);
        } catch {
          malformed.push(buf);
          buf = '';
          socket.destroy();
          return;
        }
        if (taken === null) return;
        buf = buf.slice(taken.used);
        requests.push(taken.req);
        const body = JSON.stringify({ method: taken.req.method, target: taken.req.target });
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
      }
    });
    socket.on('close', () => {
      if (buf !== '') truncated.push(buf);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    malformed,
    truncated,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
