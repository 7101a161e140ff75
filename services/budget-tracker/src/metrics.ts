import type { ReconcileReport } from "@adpipe/store-sync";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Prometheus series of the budget-tracker. */
export class TrackerMetrics {
  readonly records: Counter<"outcome">;
  readonly eventsApplied: Counter;
  readonly duplicatesSkipped: Counter;
  readonly replayedSkipped: Counter;
  readonly closedPeriodSkipped: Counter;
  readonly batchApplySeconds: Histogram;
  readonly freshnessSeconds: Histogram;
  readonly lag: Gauge<"partition">;
  readonly flips: Counter<"to">;
  readonly sweeps: Counter;
  readonly stateRecoveries: Counter<"reason">;
  readonly rebuilds: Counter<"source">;
  readonly reconcileRuns: Counter<"result">;
  readonly reconcileAbsDiff: Gauge<"measure">;
  readonly reconcileMismatched: Gauge;
  readonly reconcileOffsetsApart: Gauge;
  readonly topicResetDetected: Gauge<"partition">;
  readonly topicResets: Counter<"policy">;
  readonly reservationsExpired: Counter;
  readonly appliedWatermark: Gauge;
  readonly reservationSweepFailures: Counter;
  readonly reservationSweepConsecutiveFailures: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.reservationsExpired = new Counter({
      name: "budget_tracker_reservations_expired_total",
      help: "Reservations released because their expiry lies before the applied event-time watermark",
      registers,
    });
    this.appliedWatermark = new Gauge({
      name: "budget_tracker_applied_watermark_seconds",
      help: "Event-time watermark applied across the topic (epoch seconds) as of the last reservation sweep",
      registers,
    });
    this.reservationSweepFailures = new Counter({
      name: "budget_tracker_reservation_sweep_failures_total",
      help: "Reservation sweeps that failed (Kafka log ends or Redis unreachable)",
      registers,
    });
    this.reservationSweepConsecutiveFailures = new Gauge({
      name: "budget_tracker_reservation_sweep_consecutive_failures",
      help: "Reservation sweeps failed in a row (0 once one succeeds); from 5 on the tracker logs an error",
      registers,
    });
    this.topicResetDetected = new Gauge({
      name: "budget_tracker_topic_reset_detected",
      help: "1 while the partition's stored offset lies beyond its log end (topic deleted and recreated): not consuming",
      labelNames: ["partition"],
      registers,
    });
    this.topicResets = new Counter({
      name: "budget_tracker_topic_resets_total",
      help: "Topic resets applied to the tracker's positions by this process (RESET_POLICY=earliest) or seen from adpipe offsets reset",
      labelNames: ["policy"],
      registers,
    });
    this.records = new Counter({
      name: "budget_tracker_records_total",
      help: "Kafka records consumed, by what they do to the state (spend, budget, no_effect, rejected)",
      labelNames: ["outcome"],
      registers,
    });
    this.eventsApplied = new Counter({
      name: "budget_tracker_events_applied_total",
      help: "Events that changed an advertiser's spend or budget in Redis",
      registers,
    });
    this.duplicatesSkipped = new Counter({
      name: "budget_tracker_duplicates_skipped_total",
      help: "Clicks whose click_id was already counted (never spend)",
      registers,
    });
    this.replayedSkipped = new Counter({
      name: "budget_tracker_replayed_skipped_total",
      help: "Redelivered records already applied (offset at or below the one stored in the hash)",
      registers,
    });
    this.closedPeriodSkipped = new Counter({
      name: "budget_tracker_closed_period_skipped_total",
      help: "Clicks for a budget period that is already closed (they never change today's decision)",
      registers,
    });
    this.batchApplySeconds = new Histogram({
      name: "budget_tracker_batch_apply_seconds",
      help: "Time of one batch's Redis round trip (all advertiser slices and the offsets)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.freshnessSeconds = new Histogram({
      name: "budget_tracker_freshness_seconds",
      help: "From a Kafka record's timestamp to its apply in Redis",
      buckets: [0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.lag = new Gauge({
      name: "budget_tracker_consumer_lag",
      help: "Records between the last applied offset and the partition's high watermark",
      labelNames: ["partition"],
      registers,
    });
    this.flips = new Counter({
      name: "budget_tracker_can_serve_flips_total",
      help: "can_serve changes (to = 1 serving again, 0 stopped)",
      labelNames: ["to"],
      registers,
    });
    this.sweeps = new Counter({
      name: "budget_tracker_rollover_sweeps_total",
      help: "Budget period rollover sweeps over every advertiser hash",
      registers,
    });
    this.stateRecoveries = new Counter({
      name: "budget_tracker_state_recoveries_total",
      help: "Times the tracker found Redis without its state (sentinel missing) or rebuilt by someone else",
      labelNames: ["reason"],
      registers,
    });
    this.rebuilds = new Counter({
      name: "budget_tracker_rebuilds_total",
      help: "Rebuilds of the Redis state done by this instance",
      labelNames: ["source"],
      registers,
    });
    this.reconcileRuns = new Counter({
      name: "budget_tracker_reconcile_runs_total",
      help: "Reconciliations of Redis period spend with Postgres (result = ok, mismatch, error)",
      labelNames: ["result"],
      registers,
    });
    this.reconcileAbsDiff = new Gauge({
      name: "budget_tracker_reconcile_abs_difference",
      help: "Sum over advertisers of |Redis - Postgres| for the current period (net_micros, gross_micros, clicks, over_cap_micros); 0 in steady state",
      labelNames: ["measure"],
      registers,
    });
    this.reconcileMismatched = new Gauge({
      name: "budget_tracker_reconcile_mismatched_advertisers",
      help: "Advertisers whose Redis period state differs from Postgres at the last reconciliation",
      registers,
    });
    this.reconcileOffsetsApart = new Gauge({
      name: "budget_tracker_reconcile_offsets_apart",
      help: "Records between the tracker's and the ingestor's positions at the last reconciliation (differences are only meaningful at 0)",
      registers,
    });
  }

  recordReconcile(report: ReconcileReport): void {
    this.reconcileAbsDiff.set({ measure: "net_micros" }, report.netAbsDiffMicros);
    this.reconcileAbsDiff.set({ measure: "gross_micros" }, report.grossAbsDiffMicros);
    this.reconcileAbsDiff.set({ measure: "clicks" }, report.clicksAbsDiff);
    this.reconcileAbsDiff.set({ measure: "over_cap_micros" }, report.overCapAbsDiffMicros);
    this.reconcileMismatched.set(report.mismatched.length);
    this.reconcileOffsetsApart.set(report.offsetsApart);
    this.reconcileRuns.inc({ result: report.mismatched.length === 0 ? "ok" : "mismatch" });
  }
}
