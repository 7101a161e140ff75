/**
 * The search for the highest offered rate a run sustains (pure: it only proposes rates and records outcomes).
 *
 * Rates live on a grid: multiples of `step` between `min` and `max`. The search first makes sure it has a rate
 * that passed and one that failed (probing `min`, then `max`, unless recorded outcomes already bracket the
 * answer), then bisects between the highest pass below the lowest fail until no grid rate lies between. It
 * assumes that passing gets harder as the rate grows. A fail below a recorded pass contradicts that (a stall
 * that hit one run, not the rate): such a rate is measured once more and each rate's latest outcome counts, so
 * one stall does not end the search below rates that passed; a second fail stands. It never loops.
 */

export interface RateSearchBounds {
  /** Lowest rate probed; a fail there means the answer is below the search range. */
  readonly min: number;
  /** Highest rate probed; a pass there means the answer is at least `max`. */
  readonly max: number;
  /** Resolution: the search stops when the bracket is this narrow. */
  readonly step: number;
}

export interface RateSearchResult {
  /** Highest rate that passed (below the lowest fail), or null when nothing in the range passed. */
  readonly sustained: number | null;
  /** Lowest rate that failed, or null when `max` passed (the answer is at least `max`). */
  readonly failed: number | null;
  /** Every outcome, in the order recorded. */
  readonly probes: readonly { readonly rate: number; readonly passed: boolean }[];
}

export function validateBounds(bounds: RateSearchBounds): void {
  const { min, max, step } = bounds;
  if (!Number.isSafeInteger(step) || step <= 0)
    throw new RangeError(`step must be a positive integer: ${step}`);
  if (!Number.isSafeInteger(min) || min <= 0 || min % step !== 0) {
    throw new RangeError(`min must be a positive multiple of step ${step}: ${min}`);
  }
  if (!Number.isSafeInteger(max) || max < min || max % step !== 0) {
    throw new RangeError(`max must be a multiple of step ${step}, at least min ${min}: ${max}`);
  }
}

export class RateSearch {
  private readonly outcomes: { rate: number; passed: boolean }[] = [];

  constructor(readonly bounds: RateSearchBounds) {
    validateBounds(bounds);
  }

  /** Records an outcome (also of runs made outside the search, e.g. the fixed rates). */
  record(rate: number, passed: boolean): void {
    this.outcomes.push({ rate, passed });
  }

  /** The next rate to probe, or undefined when the search is done. */
  next(): number | undefined {
    const { min, max, step } = this.bounds;
    const retry = this.contradictedFail();
    if (retry !== undefined) return retry;
    const { sustained, failed } = this.result();
    if (failed !== null && failed <= min) return undefined;
    if (sustained === null) return this.probed(min) ? undefined : min;
    if (failed === null) return sustained >= max || this.probed(max) ? undefined : max;
    // Grid rates of the range strictly between the bracket's ends (recorded outcomes may lie off the grid).
    const lowest = Math.max(min, (Math.floor(sustained / step) + 1) * step);
    const highest = Math.min(max, (Math.ceil(failed / step) - 1) * step);
    if (lowest > highest) return undefined;
    const middle = Math.round((sustained + failed) / 2 / step) * step;
    return Math.min(highest, Math.max(lowest, middle));
  }

  result(): RateSearchResult {
    const latest = this.latestOutcomes();
    let failed: number | null = null;
    for (const [rate, passed] of latest) {
      if (!passed && (failed === null || rate < failed)) failed = rate;
    }
    let sustained: number | null = null;
    for (const [rate, passed] of latest) {
      if (passed && (failed === null || rate < failed) && (sustained === null || rate > sustained)) {
        sustained = rate;
      }
    }
    return { sustained, failed, probes: this.outcomes.map((o) => ({ ...o })) };
  }

  /** Each rate's latest outcome. */
  private latestOutcomes(): Map<number, boolean> {
    const latest = new Map<number, boolean>();
    for (const { rate, passed } of this.outcomes) latest.set(rate, passed);
    return latest;
  }

  /** The lowest rate whose only outcome is a fail below a rate whose latest outcome is a pass. */
  private contradictedFail(): number | undefined {
    const latest = this.latestOutcomes();
    let highestPass: number | undefined;
    for (const [rate, passed] of latest)
      if (passed && (highestPass === undefined || rate > highestPass)) highestPass = rate;
    if (highestPass === undefined) return undefined;
    let retry: number | undefined;
    for (const [rate, passed] of latest) {
      const once = this.outcomes.filter((o) => o.rate === rate).length === 1;
      if (!passed && once && rate < highestPass && (retry === undefined || rate < retry)) retry = rate;
    }
    return retry;
  }

  private probed(rate: number): boolean {
    return this.outcomes.some((o) => o.rate === rate);
  }
}
