import type { SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import type { BatchBarrier } from "./barrier.js";
import type { TrackerMetrics } from "./metrics.js";

export interface PeriodRolloverDeps {
  readonly store: SpendStore;
  readonly barrier: BatchBarrier;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
  /** A recovery runs: the sweep waits for the next check. */
  readonly recovering: () => boolean;
  /** A rebuild finished that the sweep's epoch had not seen. */
  readonly epochChanged: () => void;
}

/** Sweeps every advertiser hash into the new budget period once per period, so exhausted advertisers serve again. */
export class PeriodRollover {
  /** The period every hash was last swept (or rebuilt) into. */
  private sweptPeriod: string | null = null;

  constructor(private readonly deps: PeriodRolloverDeps) {}

  /** A rebuild wrote every hash in this period: no sweep needed until the next. */
  rebuiltIn(periodId: string): void {
    this.sweptPeriod = periodId;
  }

  /**
   * Sweeps every hash into the current period when the period changed since the last sweep (or `force`: the
   * pacing check, since a paced advertiser's allowance grows with time).
   */
  async sweepIfDue(force: boolean, why: "rollover" | "pacing" = "rollover"): Promise<void> {
    const { store, logger, metrics } = this.deps;
    const period = store.currentPeriod();
    if (!force && period.id === this.sweptPeriod) return;
    if (this.deps.recovering()) return;
    // The rollover lists the keys anew: a shared pass could predate a hash created just before the boundary.
    const outcome = await this.deps.barrier.shared(() => store.sweep(!force));
    metrics.sweeps.inc();
    for (const flip of outcome.flips) metrics.flips.inc({ to: flip.canServe ? "1" : "0" });
    if (outcome.epochChanged) {
      this.deps.epochChanged();
      return;
    }
    this.sweptPeriod = outcome.period.id;
    const fields = {
      period: outcome.period.id,
      advertisers: outcome.scanned,
      decided: outcome.decided,
      flips: outcome.flips.length,
    };
    if (why === "rollover") logger.info(fields, "period rollover sweep");
    else logger.debug(fields, "pacing sweep");
  }
}
