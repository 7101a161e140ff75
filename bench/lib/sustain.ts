/**
 * Whether a run of both paths at an offered rate "sustained" it (pure): the producer held the rate, both paths
 * had done every record when the drain limit ended, and produce → Gold commit p99 over the measured interval
 * stayed within the limit. The mixed part's rate search asks this of every step.
 */

/** Produce → Gold commit p99 a sustained rate must keep (the freshness bound for the warehouse). */
export const GOLD_P99_LIMIT_MS = 2_000;
/** Below this share of the offered rate the load generator, not the pipeline, set the pace. */
export const MIN_ACHIEVED_SHARE = 0.95;

export interface RunOutcome {
  readonly rate: number;
  readonly achievedRate: number;
  readonly caughtUp: { readonly gold: boolean; readonly redis: boolean };
  /** Over the whole measured interval, records not done counted at their latency lower bound. */
  readonly goldP99Ms: number;
}

export interface Verdict {
  readonly sustained: boolean;
  /** Why not, in words for the log and the report (empty when sustained). */
  readonly reasons: readonly string[];
}

export function sustainVerdict(outcome: RunOutcome, goldP99LimitMs = GOLD_P99_LIMIT_MS): Verdict {
  const reasons: string[] = [];
  if (!(outcome.achievedRate >= outcome.rate * MIN_ACHIEVED_SHARE)) {
    reasons.push(
      `the producer reached ${Math.round(outcome.achievedRate).toLocaleString("en-US")}/s of ${outcome.rate.toLocaleString("en-US")}/s offered`,
    );
  }
  if (!outcome.caughtUp.gold) reasons.push("the Gold path fell behind");
  if (!outcome.caughtUp.redis) reasons.push("the Redis path fell behind");
  if (!(outcome.goldP99Ms <= goldP99LimitMs)) {
    reasons.push(
      `Gold p99 ${Math.round(outcome.goldP99Ms).toLocaleString("en-US")} ms > ${goldP99LimitMs.toLocaleString("en-US")} ms`,
    );
  }
  return { sustained: reasons.length === 0, reasons };
}
