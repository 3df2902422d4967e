// Types for mappings.mjs; used by the TypeScript tests.
export declare function generateMappings(o: {
  count: number;
  service: string;
  extraPrefixes?: readonly string[];
  namePrefix?: string;
}): string;
export declare function expectedRouteCount(count: number, extra?: number): number;
