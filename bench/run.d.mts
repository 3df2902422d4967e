// Types for run.mjs's pure helpers; used by the TypeScript tests.
export interface BenchOptions {
  help: boolean;
  durationS: number;
  connections: number;
  reps: number;
  warmupS: number;
  passes: string[];
  pin: boolean;
  out: string | null;
  quick: boolean;
}
export interface BenchRun {
  rep: number;
  rps: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  cpuUsPerReq: number;
}
export interface PassData {
  name: string;
  workers: number;
  pinned: boolean;
  runs: Record<string, BenchRun[]>;
  rssIdle: Record<string, number>;
  rssAfter: Record<string, number>;
  error?: string;
}
export interface PassSummary {
  medians: Record<
    string,
    {
      rps: number;
      rpsMin: number;
      rpsMax: number;
      p50Ms: number;
      p99Ms: number;
      cpuUsPerReq: number;
      errors: number;
    }
  >;
  ratios: { rps: number; p50: number; p99: number; cpuPerReq: number };
}
export declare function parseBenchArgs(argv: string[]): BenchOptions;
export declare function summarisePass(pass: PassData): PassSummary;
export declare function passTable(pass: PassData, summary: PassSummary): string;
export declare function report(result: {
  date: string;
  opts: BenchOptions;
  machine: Record<string, unknown>;
  passes: (PassData & { summary?: PassSummary })[];
}): string;
