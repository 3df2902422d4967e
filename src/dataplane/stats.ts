/**
 * Data-plane counters: plain integer fields bumped on the request path (no labels, no maps on the
 * success path), read by admin/metrics and diagnostics through `snapshot()`.
 *
 * Local replies are counted per error code; each code maps to one status and one response flag
 * (errors/codes.ts), so the pair (status, flag) can be derived for exposition.
 */
import { type ErrorCode, ErrorCodes } from '../errors/codes.js';

export interface LocalReplyCount {
  readonly code: ErrorCode;
  readonly status: number;
  readonly flag: string;
  readonly count: number;
}

export interface DataPlaneStatsSnapshot {
  readonly downstreamRequests: number;
  readonly upstreamRequests: number;
  readonly upstreamResponses: number;
  readonly redirects: number;
  /** Client connections aborted because the upstream failed after the response head was sent. */
  readonly downstreamAborts: number;
  /** Requests the client abandoned before the response completed. */
  readonly downstreamResets: number;
  readonly shadowRequests: number;
  readonly shadowSkipped: number;
  /** Client connections closed at accept because the listener's `maxConnections` was reached. */
  readonly droppedConnections: number;
  readonly localReplies: readonly LocalReplyCount[];
}

export class DataPlaneStats {
  downstreamRequests = 0;
  upstreamRequests = 0;
  upstreamResponses = 0;
  redirects = 0;
  downstreamAborts = 0;
  downstreamResets = 0;
  shadowRequests = 0;
  shadowSkipped = 0;
  droppedConnections = 0;
  readonly #localReplies = new Map<ErrorCode, number>();

  localReply(code: ErrorCode): void {
    this.#localReplies.set(code, (this.#localReplies.get(code) ?? 0) + 1);
  }

  localReplyCount(code: ErrorCode): number {
    return this.#localReplies.get(code) ?? 0;
  }

  snapshot(): DataPlaneStatsSnapshot {
    const localReplies: LocalReplyCount[] = [];
    for (const [code, count] of this.#localReplies) {
      const info = ErrorCodes[code] as { httpStatus?: number; flag?: string };
      localReplies.push({ code, status: info.httpStatus ?? 0, flag: info.flag ?? '', count });
    }
    return {
      downstreamRequests: this.downstreamRequests,
      upstreamRequests: this.upstreamRequests,
      upstreamResponses: this.upstreamResponses,
      redirects: this.redirects,
      downstreamAborts: this.downstreamAborts,
      downstreamResets: this.downstreamResets,
      shadowRequests: this.shadowRequests,
      shadowSkipped: this.shadowSkipped,
      droppedConnections: this.droppedConnections,
      localReplies,
    };
  }
}
