// Types for nginx.mjs; used by the TypeScript tests.
export declare function originConfig(opts: { dir: string; port: number; workers?: number }): string;
export declare function proxyConfig(opts: {
  dir: string;
  port: number;
  upstreamPort: number;
  workers?: number;
}): string;
export declare function nginxArgs(opts: { dir: string; confPath: string; name: string }): string[];
