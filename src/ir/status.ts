/**
 * Condition accumulator: every finding of one IR build, per resource key.
 *
 * Processors call `add(key, condition)`; `build.ts` calls `statuses()` once at the end to merge the
 * findings into the input statuses. Invariants: status only gets worse within a build (a critical
 * condition is never removed, and a resource's final state is the worst of its input state and
 * its conditions); identical conditions are recorded once; insertion order is kept so the output
 * is deterministic. (Contour's status accumulator and Traefik's AddError, in spirit.)
 */
import type { ResourceMeta } from '../resources/types.js';
import {
  type Condition,
  type ResourceState,
  type ResourceStatus,
  ResourceState as State,
} from '../resources/types.js';

const kRank: Record<ResourceState, number> = {
  [State.Ignored]: 0,
  [State.Accepted]: 0,
  [State.Warning]: 1,
  [State.Rejected]: 2,
};

export class ConditionAccumulator {
  readonly #byKey = new Map<string, Condition[]>();
  readonly #seen = new Set<string>();

  add(key: string, condition: Condition): void {
    const id = `${key}\u0000${condition.reason}\u0000${condition.field ?? ''}\u0000${condition.message}\u0000${condition.critical}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    const list = this.#byKey.get(key);
    const clean: Condition =
      condition.field === undefined
        ? { reason: condition.reason, message: condition.message, critical: condition.critical }
        : {
            reason: condition.reason,
            message: condition.message,
            field: condition.field,
            critical: condition.critical,
          };
    if (list) list.push(clean);
    else this.#byKey.set(key, [clean]);
  }

  /** True once any critical condition was recorded for `key` in this build. */
  isRejected(key: string): boolean {
    const list = this.#byKey.get(key);
    if (!list) return false;
    for (let i = 0; i < list.length; i++) if (list[i].critical) return true;
    return false;
  }

  conditionsOf(key: string): readonly Condition[] {
    return this.#byKey.get(key) ?? [];
  }

  /**
   * The input statuses with this build's conditions appended and `state` recomputed. Resources that
   * have no input status (hand-built resource sets) get one synthesised from `extra`, appended in
   * the order given. Returns fresh objects; the input is not mutated.
   */
  statuses(input: readonly ResourceStatus[], extra: readonly ResourceMeta[]): ResourceStatus[] {
    const out: ResourceStatus[] = [];
    const have = new Set<string>();
    for (const st of input) {
      have.add(st.key);
      out.push(this.#merge(st));
    }
    for (const meta of extra) {
      if (have.has(meta.key)) continue;
      have.add(meta.key);
      out.push(
        this.#merge({
          key: meta.key,
          kind: meta.kind,
          apiVersion: meta.apiVersion,
          namespace: meta.namespace,
          name: meta.name,
          location: meta.location,
          state: State.Accepted,
          conditions: [],
        }),
      );
    }
    return out;
  }

  #merge(st: ResourceStatus): ResourceStatus {
    const added = this.#byKey.get(st.key);
    if (!added || added.length === 0) return st;
    let derived: ResourceState = State.Accepted;
    for (const c of added) {
      if (c.critical) derived = State.Rejected;
      else if (derived !== State.Rejected) derived = State.Warning;
    }
    const state = kRank[derived] > kRank[st.state] ? derived : st.state;
    return { ...st, state, conditions: [...st.conditions, ...added] };
  }
}
