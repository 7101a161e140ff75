import { type LogBounds, type ResetTarget, targetOffset } from "@adpipe/core";
import type { Admin } from "kafkajs";
import { KafkaError } from "./errors.js";

/** A topic's partitions with their log bounds, as the broker reports them now. */
export interface TopicLog {
  readonly topic: string;
  readonly partitions: readonly LogBounds[];
  /**
   * The broker's topic id. Always null with kafkajs 2.2.4: it speaks Metadata up to v6, and topic ids arrive with
   * v10 (Kafka 2.8+). Resets are then found by offsets alone (see docs/operations.md).
   */
  readonly topicId: string | null;
}

/** Log start and end offsets of every partition of `topic` (one ListOffsets round trip per broker). */
export async function inspectTopicLog(admin: Admin, topic: string): Promise<TopicLog> {
  let offsets: { partition: number; high: string; low: string }[];
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (error) {
    throw new KafkaError("admin_failed", `cannot read the log offsets of topic "${topic}"`, { cause: error });
  }
  const partitions = offsets
    .map(({ partition, high, low }) => ({ partition, start: BigInt(low), end: BigInt(high) }))
    .sort((a, b) => a.partition - b.partition);
  return { topic, partitions, topicId: null };
}

/** The offset each partition moves to for a reset target (a time: the first record at or after it). */
export async function resolveResetTargets(
  admin: Admin,
  log: TopicLog,
  target: ResetTarget,
): Promise<Map<number, bigint>> {
  const byTime = new Map<number, bigint>();
  if (target.kind === "time") {
    let found: { partition: number; offset: string }[];
    try {
      found = await admin.fetchTopicOffsetsByTimestamp(log.topic, target.timeMs);
    } catch (error) {
      throw new KafkaError("admin_failed", `cannot look up offsets by time in topic "${log.topic}"`, {
        cause: error,
      });
    }
    for (const { partition, offset } of found) byTime.set(partition, BigInt(offset));
  }
  return new Map(
    log.partitions.map((bounds) => [
      bounds.partition,
      targetOffset(target, bounds, byTime.get(bounds.partition)),
    ]),
  );
}

/**
 * Reads a topic's log bounds on demand through one admin connection kept open between reads (services check
 * their positions against the log every few seconds). A failed read drops the connection; the next one reconnects.
 */
export class TopicLogReader {
  private admin: Admin | null = null;
  private connecting: Promise<Admin> | null = null;

  constructor(
    private readonly kafka: { admin(): Admin },
    readonly topic: string,
  ) {}

  private connect(): Promise<Admin> {
    if (this.admin !== null) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        this.connecting = null;
        throw new KafkaError("admin_failed", "cannot connect the Kafka admin client", { cause: error });
      }
      this.admin = admin;
      this.connecting = null;
      return admin;
    })();
    return this.connecting;
  }

  async read(): Promise<TopicLog> {
    const admin = await this.connect();
    try {
      return await inspectTopicLog(admin, this.topic);
    } catch (error) {
      this.admin = null;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin ?? (await this.connecting?.catch(() => null)) ?? null;
    this.admin = null;
    await admin?.disconnect().catch(() => undefined);
  }
}
