// Types for procs.mjs; used by the TypeScript tests.
import type { ChildProcess } from 'node:child_process';

export declare function processTree(pid: number): number[];
export declare function treeRssMiB(pid: number): number;
export declare function treeCpuSeconds(pid: number): number;

export declare class ProcessGroup {
  start(
    name: string,
    command: string,
    args: readonly string[],
    opts?: { cpu?: number | null; taskset?: string; logFile?: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): ChildProcess;
  alive(name: string): boolean;
  pid(name: string): number | undefined;
  stop(name: string, opts?: { graceMs?: number }): Promise<void>;
  stopAll(opts?: { graceMs?: number }): Promise<void>;
  killAllNow(): void;
}
