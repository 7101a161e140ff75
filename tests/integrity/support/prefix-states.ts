import {
  type BudgetObservation,
  budgetObservation,
  budgetPeriodOf,
  decideServing,
  spendContribution,
  supersedesBudget,
} from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import type { ServingState } from "@adpipe/serving-client";

export interface StreamRecord {
  readonly key: string | Buffer | null;
  readonly value: Uint8Array | null;
  readonly timestampMs: number;
}

const stateKey = (net: number, gross: number, clicks: number, budget: number | null) =>
  `${net}|${gross}|${clicks}|${budget ?? "none"}`;

/**
 * Every state an advertiser's hash may legitimately show while the tracker is behind, restarting or rebuilding:
 * the state after some prefix of that advertiser's records (all of them are in one partition, in order). A
 * state outside this set is a wrong number (spend lost or counted twice, a budget from nowhere).
 */
export class PrefixStates {
  private readonly allowed = new Map<string, Set<string>>();
  readonly periodId: string;

  constructor(records: readonly StreamRecord[], nowMs: number) {
    const period = budgetPeriodOf(nowMs, "day", "UTC");
    this.periodId = period.id;
    const oracle = new Oracle();
    const running = new Map<
      string,
      { net: number; gross: number; clicks: number; budget: BudgetObservation | null }
    >();
    const note = (id: string) => {
      const s = running.get(id) ?? { net: 0, gross: 0, clicks: 0, budget: null };
      running.set(id, s);
      const set = this.allowed.get(id) ?? new Set([stateKey(0, 0, 0, null)]);
      set.add(stateKey(s.net, s.gross, s.clicks, s.budget?.budgetMicros ?? null));
      this.allowed.set(id, set);
      return s;
    };
    for (const record of records) {
      const key = record.key === null ? null : record.key.toString();
      const outcome = oracle.observe({ value: record.value, timestampMs: record.timestampMs, key });
      const event = outcome.result;
      if (!event.ok || outcome.duplicate || event.advertiserId === null) continue;
      const s = note(event.advertiserId);
      const spend = spendContribution(event);
      if (spend !== null && spend.eventTimeMs >= period.startMs && spend.eventTimeMs < period.endMs) {
        s.net += spend.netMicros;
        s.gross += spend.grossMicros;
        s.clicks += 1;
      }
      const budget = budgetObservation(event);
      if (budget !== null && supersedesBudget(s.budget, budget)) s.budget = budget;
      note(event.advertiserId);
    }
  }

  /** Every advertiser of the stream. */
  advertiserIds(): string[] {
    return [...this.allowed.keys()].sort();
  }

  /** null when the state is one the advertiser went through; else what is wrong with it. */
  check(state: ServingState): string | null {
    if (state.period !== this.periodId) return null;
    const decision = decideServing({ periodNetMicros: state.netMicros, budgetMicros: state.budgetMicros });
    if (decision.canServe !== state.canServe)
      return `${state.advertiserId}: can_serve ${state.canServe} but net ${state.netMicros} vs budget ${state.budgetMicros}`;
    const key = stateKey(state.netMicros, state.grossMicros, state.clicks, state.budgetMicros);
    if (this.allowed.get(state.advertiserId)?.has(key) === true) return null;
    const near = [...(this.allowed.get(state.advertiserId) ?? [])].filter((k) => {
      const [net, , clicks] = k.split("|");
      return net === String(state.netMicros) || clicks === String(state.clicks);
    });
    return `${state.advertiserId}: net/gross/clicks/budget ${key} is no state the advertiser ever had (near: ${near.slice(0, 3).join(", ") || "none"})`;
  }
}
