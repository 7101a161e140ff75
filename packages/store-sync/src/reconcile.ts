import type { BudgetMode, BudgetSource } from "@adpipe/core";
import type { PartitionOffset, PeriodWindow, StoredState } from "@adpipe/spend-store";

/** Period totals of one advertiser, from Redis or from the warehouse. */
export interface PeriodTotals {
  readonly advertiserId: string;
  readonly netMicros: number;
  readonly grossMicros: number;
  readonly clicks: number;
  readonly budgetMicros: number | null;
  /** Where the budget in force came from; a different source is a difference even at the same amount. */
  readonly budgetSource: BudgetSource | null;
  /** The period's valid spend beyond a hard_cap budget (in gross, never in net). */
  readonly overCapMicros: number;
  /** Budget mode in force; observe when no update ever set one. */
  readonly mode: BudgetMode;
  /**
   * Start of the period these totals cover when it is the advertiser's own (a calendar of its own); absent:
   * the compared period. Its hash is compared against its own period.
   */
  readonly periodStartMs?: number;
}

export interface AdvertiserDifference {
  readonly advertiserId: string;
  readonly redis: PeriodTotals;
  readonly warehouse: PeriodTotals;
  /** redis − warehouse. */
  readonly netDiffMicros: number;
  readonly grossDiffMicros: number;
  readonly clicksDiff: number;
  readonly overCapDiffMicros: number;
  readonly budgetDiffers: boolean;
  readonly modeDiffers: boolean;
}

export interface ReconcileReport {
  readonly period: PeriodWindow;
  readonly advertisers: number;
  readonly mismatched: readonly AdvertiserDifference[];
  /** Sums over advertisers of |redis − warehouse|. Zero in steady state. */
  readonly netAbsDiffMicros: number;
  readonly grossAbsDiffMicros: number;
  readonly clicksAbsDiff: number;
  readonly overCapAbsDiffMicros: number;
  /** Sum over partitions of |redis offset − warehouse offset|: a difference is only meaningful at 0. */
  readonly offsetsApart: number;
  /** Hashes already in a later period than the one compared (the tracker's clock is ahead): not compared. */
  readonly skippedLaterPeriod: number;
}

const ZERO = (advertiserId: string): PeriodTotals => ({
  advertiserId,
  netMicros: 0,
  grossMicros: 0,
  clicks: 0,
  budgetMicros: null,
  budgetSource: null,
  overCapMicros: 0,
  mode: "observe",
});

/** Sum over partitions of the distance between two offset lists (a missing partition counts as offset 0). */
export function offsetDistance(a: readonly PartitionOffset[], b: readonly PartitionOffset[]): number {
  const left = new Map(a.map(({ partition, offset }) => [partition, offset]));
  const right = new Map(b.map(({ partition, offset }) => [partition, offset]));
  let distance = 0;
  for (const partition of new Set([...left.keys(), ...right.keys()])) {
    distance += Math.abs((left.get(partition) ?? 0) - (right.get(partition) ?? 0));
  }
  return distance;
}

/**
 * Compares Redis period state with the warehouse's totals for the same period. An advertiser missing on one
 * side counts as zero spend and no budget there (a missing hash means "unknown", which serves nobody); a
 * hash still in an earlier period holds zero for this one (the rollover sweep has not reached it yet), while its
 * budget and mode carry over like the rollover carries them.
 */
export function reconcileTotals(
  period: PeriodWindow,
  redisStates: Iterable<StoredState>,
  warehouseTotals: Iterable<PeriodTotals>,
  offsets: { redis: readonly PartitionOffset[]; warehouse: readonly PartitionOffset[] },
): ReconcileReport {
  const warehouse = new Map<string, PeriodTotals>();
  for (const totals of warehouseTotals) warehouse.set(totals.advertiserId, totals);
  const redis = new Map<string, PeriodTotals>();
  let skippedLaterPeriod = 0;
  for (const state of redisStates) {
    const startMs = warehouse.get(state.advertiserId)?.periodStartMs ?? period.startMs;
    if (state.periodStartMs > startMs) {
      skippedLaterPeriod++;
      continue;
    }
    const current = state.periodStartMs === startMs;
    redis.set(state.advertiserId, {
      advertiserId: state.advertiserId,
      netMicros: current ? state.netMicros : 0,
      grossMicros: current ? state.grossMicros : 0,
      clicks: current ? state.clicks : 0,
      budgetMicros: state.budgetMicros,
      budgetSource: state.budgetSource,
      overCapMicros: current ? state.overCapMicros : 0,
      mode: state.mode,
    });
  }

  const mismatched: AdvertiserDifference[] = [];
  let netAbsDiffMicros = 0;
  let grossAbsDiffMicros = 0;
  let clicksAbsDiff = 0;
  let overCapAbsDiffMicros = 0;
  const ids = new Set([...redis.keys(), ...warehouse.keys()]);
  for (const advertiserId of ids) {
    const r = redis.get(advertiserId) ?? ZERO(advertiserId);
    const w = warehouse.get(advertiserId) ?? ZERO(advertiserId);
    const netDiffMicros = r.netMicros - w.netMicros;
    const grossDiffMicros = r.grossMicros - w.grossMicros;
    const clicksDiff = r.clicks - w.clicks;
    const overCapDiffMicros = r.overCapMicros - w.overCapMicros;
    const budgetDiffers = r.budgetMicros !== w.budgetMicros || r.budgetSource !== w.budgetSource;
    const modeDiffers = r.mode !== w.mode;
    netAbsDiffMicros += Math.abs(netDiffMicros);
    grossAbsDiffMicros += Math.abs(grossDiffMicros);
    clicksAbsDiff += Math.abs(clicksDiff);
    overCapAbsDiffMicros += Math.abs(overCapDiffMicros);
    if (
      netDiffMicros !== 0 ||
      grossDiffMicros !== 0 ||
      clicksDiff !== 0 ||
      overCapDiffMicros !== 0 ||
      budgetDiffers ||
      modeDiffers
    ) {
      mismatched.push({
        advertiserId,
        redis: r,
        warehouse: w,
        netDiffMicros,
        grossDiffMicros,
        clicksDiff,
        overCapDiffMicros,
        budgetDiffers,
        modeDiffers,
      });
    }
  }
  mismatched.sort((a, b) => (a.advertiserId < b.advertiserId ? -1 : a.advertiserId > b.advertiserId ? 1 : 0));
  return {
    period,
    advertisers: ids.size,
    mismatched,
    netAbsDiffMicros,
    grossAbsDiffMicros,
    clicksAbsDiff,
    overCapAbsDiffMicros,
    offsetsApart: offsetDistance(offsets.redis, offsets.warehouse),
    skippedLaterPeriod,
  };
}
