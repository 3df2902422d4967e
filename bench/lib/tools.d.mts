// Types for tools.mjs; used by the TypeScript tests.
export declare function which(name: string, opts?: { path?: string }): string | null;
export declare const PACKAGES: Readonly<Record<string, string>>;
export declare function findTools(
  required: readonly string[],
  opts?: { path?: string },
): { found: Record<string, string>; missing: string[]; hint: string };
