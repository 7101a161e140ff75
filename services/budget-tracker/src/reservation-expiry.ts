import { appliedWatermark } from "@adpipe/core";
import { TopicLogReader } from "@adpipe/kafka";
import type { SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import type { Kafka } from "kafkajs";
import type { TrackerMetrics } from "./metrics.js";

/**
 * Consecutive failed sweeps tolerated quietly. A single failure is usually a passing Kafka state (a leader
 * moving, metadata being refreshed); this many in a row (5 s at the default 1 s interval) is a fault.
 */
export const SWEEP_FAILURES_BEFORE_ALERT = 5;

/**
 * How loudly the n-th consecutive failed sweep is reported: "quiet" (debug) until `threshold` failures in a row,
 * then "loud" (error) at the threshold and every `threshold` failures after it, so a lasting fault is repeated
 * without flooding the log at a sub-second interval.
 */
export function sweepFailureLevel(
  consecutiveFailures: number,
  threshold: number = SWEEP_FAILURES_BEFORE_ALERT,
): "quiet" | "loud" {
  if (consecutiveFailures < threshold) return "quiet";
  return (consecutiveFailures - threshold) % threshold === 0 ? "loud" : "quiet";
}

export interface ReservationExpiryDeps {
  readonly kafka: Pick<Kafka, "admin">;
  readonly topic: string;
  readonly store: Pick<SpendStore, "readMeta" | "expireReservations">;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
  /** A recovery runs or a topic reset blocks consuming: the sweep skips its turn. */
  readonly busy: () => boolean;
}

/**
 * Releases reservations whose TTL passed by the log, never by the wall clock: the watermark is what the
 * trackers have applied across every partition (appliedWatermark of @adpipe/core, from the positions and
 * watermarks in the meta hash and the log ends read just before). A paused, lagging or restarting tracker
 * holds the watermark back, so no reservation whose click still waits in the log is released. Any replica may
 * sweep: the meta hash holds every partition's progress.
 *
 * Sweeps never overlap (a turn arriving while one runs is skipped) and close() waits for the one in flight:
 * both otherwise disconnect the shared admin client under a running offsets read, which kafkajs reports as
 * "Topic metadata not loaded". Failures are counted; only a run of SWEEP_FAILURES_BEFORE_ALERT is logged as an
 * error, and budget_tracker_reservation_sweep_consecutive_failures shows it at any time.
 */
export class ReservationExpiry {
  private readonly logReader: TopicLogReader;
  private running: Promise<void> | null = null;
  private closed = false;
  private consecutiveFailures = 0;

  constructor(private readonly deps: ReservationExpiryDeps) {
    this.logReader = new TopicLogReader(deps.kafka, deps.topic);
  }

  /**
   * The periodic turn: one sweep unless one still runs or close() was called. Never throws: a failure is counted
   * and logged here (quietly until SWEEP_FAILURES_BEFORE_ALERT in a row).
   */
  turn(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.running ??= this.sweepReportingFailures().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sweepReportingFailures(): Promise<void> {
    const { metrics, logger } = this.deps;
    try {
      await this.sweep();
    } catch (error) {
      if (this.closed) return;
      this.consecutiveFailures += 1;
      metrics.reservationSweepFailures.inc();
      metrics.reservationSweepConsecutiveFailures.set(this.consecutiveFailures);
      const details = { err: error, consecutiveFailures: this.consecutiveFailures };
      if (sweepFailureLevel(this.consecutiveFailures) === "loud") {
        logger.error(
          details,
          "reservation sweep keeps failing: reservations are not released and hold budget; check that Kafka " +
            "(admin API, topic metadata) and Redis are reachable from the tracker",
        );
      } else {
        logger.debug(details, "reservation sweep failed: retrying next turn");
      }
      return;
    }
    if (this.consecutiveFailures >= SWEEP_FAILURES_BEFORE_ALERT) {
      logger.info({ failedSweeps: this.consecutiveFailures }, "reservation sweep works again");
    }
    this.consecutiveFailures = 0;
    metrics.reservationSweepConsecutiveFailures.set(0);
  }

  /** One sweep now; throws what fails (turn() is the periodic, failure-counting caller). */
  async sweep(): Promise<void> {
    const { store, metrics, logger } = this.deps;
    if (this.deps.busy()) return;
    // Before the log ends are read: a partition applied up to them holds every record appended before now.
    const checkedAtMs = Date.now();
    const log = await this.logReader.read();
    const meta = await store.readMeta();
    if (meta === null) return;
    const applied = new Map(meta.offsets.map((position) => [position.partition, position]));
    const watermarkMs = appliedWatermark(
      log.partitions.map((bounds) => {
        const position = applied.get(bounds.partition);
        return {
          partition: bounds.partition,
          logEndOffset: Number(bounds.end),
          appliedOffset: position?.offset ?? null,
          watermarkMs: position?.watermarkMs ?? null,
        };
      }),
      checkedAtMs,
    );
    if (watermarkMs === null) return;
    metrics.appliedWatermark.set(watermarkMs / 1000);
    const outcome = await store.expireReservations(watermarkMs);
    if (outcome.expired > 0) {
      metrics.reservationsExpired.inc(outcome.expired);
      logger.debug({ ...outcome, watermarkMs }, "reservations expired by the applied watermark");
    }
  }

  /** Stops sweeping; waits for the sweep in flight before the admin client is disconnected. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
    await this.logReader.close();
  }
}
