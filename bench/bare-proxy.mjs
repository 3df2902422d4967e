// A bare reverse proxy for comparison: node:http server + Legate's upstream pool, with none of the
// gateway (no routing, header rules, request id, limits, timers or statistics). It shows what
// node:http and the system calls cost alone; see bench/README.md ("side by side").
//
//   npm run build && PORT=9200 UPSTREAM=127.0.0.1:9100 node bench/bare-proxy.mjs
import { createServer } from 'node:http';
import { EndpointPool } from '../dist/dataplane/upstream/pool.js';

const [host, port] = (process.env.UPSTREAM ?? '127.0.0.1:9100').split(':');
const pool = new EndpointPool({
  cluster: {
    scheme: 'http',
    connectTimeoutMs: 3000,
    idleTimeoutMs: 60_000,
    maxConnectionLifetimeMs: 0,
    authority: `${host}:${port}`,
  },
  endpoint: { address: host, port: Number(port) },
});

class Handler {
  constructor(res) {
    this.res = res;
    this.ended = false;
  }
  onConnect() {}
  onResponseStarted() {}
  onHeaders(status, raw) {
    const head = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (name !== 'connection' && name !== 'keep-alive') head.push(name, raw[i + 1]);
    }
    this.res.writeHead(status, head);
    return true;
  }
  onData(chunk, last) {
    if (!last) return this.res.write(chunk);
    this.ended = true;
    this.res.end(chunk.toString('latin1'), 'latin1');
    return true;
  }
  onComplete() {
    if (!this.ended) this.res.end();
  }
  onError() {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end();
  }
}

createServer((req, res) => {
  const headers = ['host', req.headers.host ?? '', 'x-forwarded-for', req.socket.remoteAddress ?? ''];
  pool.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body: null }, new Handler(res));
}).listen(Number(process.env.PORT ?? 9200), '127.0.0.1');
