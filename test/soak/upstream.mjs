// One upstream server of the soak (`soak.mjs` starts two or three, as child processes so that one
// can be SIGKILLed mid-response and started again on the same port).
//
// Usage: node upstream.mjs NAME [PORT]   (PORT 0 or absent: any free port)
// Prints `listening <port>` on stdout once bound to 127.0.0.1. Answers:
//   POST …/echo     the request body streamed back unchanged (200, application/octet-stream)
//   GET  …/stream   STREAM_CHUNKS chunks of CHUNK_BYTES, one every CHUNK_GAP_MS (shape.mjs)
//   anything else   JSON {name, method, url, round}; `round` is the x-soak-round request header
// Every reply carries `x-upstream: NAME`, which the soak checks on canary routes.
import { createServer } from 'node:http';
import { CHUNK_BYTES, CHUNK_GAP_MS, STREAM_CHUNKS } from './shape.mjs';

const name = process.argv[2] ?? 'upstream';
const port = Number(process.argv[3] ?? 0);
const chunk = Buffer.alloc(CHUNK_BYTES, name.charCodeAt(0));

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST' && url.endsWith('/echo')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': name });
    req.pipe(res);
    req.on('error', () => res.destroy());
    return;
  }
  if (url.endsWith('/stream')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': name });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunk);
      if (++sent === STREAM_CHUNKS) {
        clearInterval(timer);
        res.end();
      }
    }, CHUNK_GAP_MS);
    res.on('close', () => clearInterval(timer));
    req.resume();
    return;
  }
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({
      name,
      method: req.method,
      url,
      round: req.headers['x-soak-round'] ?? null,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
