/**
 * RFC 9110 §5.6.2 tokens (header names, methods): the tchar table and the check built on it.
 * Shared by the configuration's wire checks (ir/processors/wire.ts) and the upstream response
 * parser (dataplane/upstream/http1-response.ts), which scans the table inline on its hot path.
 */

/** 1 for each tchar, indexed by char code; codes ≥ 128 are never tchar. */
export const TCHAR: Uint8Array = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** One or more tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}
