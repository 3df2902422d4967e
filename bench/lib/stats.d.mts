// Types for stats.mjs; used by the TypeScript tests.
export declare function median(values: readonly number[]): number;
export declare function ratio(a: number | undefined, b: number | undefined): number;
export declare function fmt(x: number | null | undefined, digits?: number): string;
export declare function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
): string;
