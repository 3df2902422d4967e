// Types for wrk.mjs (plain ESM so `npm run bench` needs no build); used by the TypeScript tests.
export declare const REPORT_LUA: string;

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  threads?: number;
  script?: string | null;
  cpu?: number | null;
  wrk?: string;
  taskset?: string;
}

export interface WrkResult {
  source: 'lua' | 'text';
  requests: number;
  durationS: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  errorsTotal: number;
}

export declare function wrkCommand(opts: WrkOptions): { command: string; args: string[] };
export declare function durationToMs(text: string): number;
export declare function parseWrkOutput(text: string): WrkResult;
export declare function runWrk(
  opts: WrkOptions,
  limits?: { graceS?: number },
): Promise<{ result: WrkResult; raw: string }>;
