import { appliedWatermark } from "@adpipe/core";
import { TopicLogReader } from "@adpipe/kafka";
import type { SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import type { Kafka } from "kafkajs";
import type { TrackerMetrics } from "./metrics.js";

export interface ReservationExpiryDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly store: SpendStore;
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
 */
export class ReservationExpiry {
  private readonly logReader: TopicLogReader;

  constructor(private readonly deps: ReservationExpiryDeps) {
    this.logReader = new TopicLogReader(deps.kafka, deps.topic);
  }

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

  close(): Promise<void> {
    return this.logReader.close();
  }
}
