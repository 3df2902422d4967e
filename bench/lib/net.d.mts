// Types for net.mjs; used by the TypeScript tests.
export declare function freePort(): Promise<number>;
export declare function waitForHttp(
  url: string,
  opts?: { timeoutMs?: number; status?: number; intervalMs?: number; isAlive?: () => boolean },
): Promise<boolean>;
