/**
 * Round robin across a cluster's endpoints. The cursor lives here, in the cluster's live state
 * (clusters.ts), never in the snapshot, so it survives swaps (convention 4).
 *
 * Invariant: `pick` over a list of length n visits every index once per n calls while the list is
 * unchanged. When the list changes length, the cursor is taken modulo the new length: the order is
 * disturbed once, nothing is skipped for long, and no state has to be rebuilt.
 */
export class RoundRobin {
  #cursor = 0;

  /** Index of the next endpoint in a list of `length` entries, or -1 when the list is empty. */
  next(length: number): number {
    if (length === 0) return -1;
    if (length === 1) return 0;
    const i = this.#cursor % length;
    this.#cursor = i + 1;
    return i;
  }
}
