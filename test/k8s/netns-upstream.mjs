// A test upstream run inside a test network namespace (netns.ts, gateway-support.ts startNetnsUpstream):
// `node netns-upstream.mjs <name> <host> <port>` serves HTTP on host:port (port 0 = ephemeral) and
// answers every request with `<name> <path>` as text/plain, like the in-process loopback upstreams.
// Protocol with the parent, one JSON object per line:
//   stdout  {"event":"listening","port":N} once, or {"event":"error","message":...} and exit 1;
//   stdin   {"id":K,"op":"hits"} → stdout {"id":K,"hits":N}. A request is counted before its
//           response is written, so the answer covers every response the parent has already seen.
// The process exits when stdin closes: a parent that dies leaves no upstream behind.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const [name, host, port] = process.argv.slice(2);
if (!name || !host || port === undefined) {
  process.stderr.write('usage: netns-upstream.mjs <name> <host> <port>\n');
  process.exit(2);
}

const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  res.setHeader('content-type', 'text/plain');
  res.end(`${name} ${req.url}`);
});
server.keepAliveTimeout = 1000;
server.on('error', (err) => {
  send({ event: 'error', message: err.message });
  process.exit(1);
});
server.listen(Number(port), host, () => send({ event: 'listening', port: server.address().port }));

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    return;
  }
  if (cmd.op === 'hits') send({ id: cmd.id, hits });
});
commands.on('close', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
