// Loopback helpers: free ports for programs that cannot bind port 0 and report it (nginx), and
// polling an HTTP endpoint until it answers.
import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1. There is a window between closing the probe and
 * the real server binding it; the caller detects a lost race when its server fails to start.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until it answers `status` (default 200) or `timeoutMs` passes. `isAlive` lets the
 * caller stop early when the process that should answer has died. Resolves true on success.
 */
export async function waitForHttp(
  url,
  { timeoutMs = 20_000, status = 200, intervalMs = 100, isAlive = () => true } = {},
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) return false;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === status) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}
