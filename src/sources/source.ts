/**
 * The Source contract. A source pushes the WHOLE current object set every time anything changes
 * (level-triggered), never a diff. The control loop may call `publish` results out of order with
 * respect to other sources; it keeps the latest per source. (Traefik's provider.go.)
 */
import type { SourceSnapshot } from '../resources/types.js';

export interface Source {
  /** Stable name, e.g. `file` or `kubernetes`; tags every object's location. */
  readonly name: string;
  /**
   * Starts watching. Calls `publish` with the full set after the initial read (that first call is
   * the source's initial sync) and again after every change. Resolves once the initial read is
   * done. Stops when `signal` aborts.
   */
  start(signal: AbortSignal, publish: (snapshot: SourceSnapshot) => void): Promise<void>;
}
