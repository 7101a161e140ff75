import { setTimeout as sleep } from "node:timers/promises";
import type { GeneratedRecord } from "@adpipe/core";
import type { PartitionOffset, SpendStore } from "@adpipe/spend-store";
import type { Kafka } from "kafkajs";
import { testServices, uniqueName } from "../../../support/index.js";

/** Produces records in order, keyed, with their own timestamps (CreateTime), in sends of `chunk`. */
export async function produceRecords(
  kafka: Kafka,
  topic: string,
  records: readonly Pick<GeneratedRecord, "key" | "value" | "timestampMs">[],
  chunk = 500,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += chunk) {
      await producer.send({
        topic,
        messages: records.slice(i, i + chunk).map((record) => ({
          key: record.key,
          value: Buffer.from(record.value),
          timestamp: String(record.timestampMs),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** High watermarks of every partition of a topic. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<PartitionOffset[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, high }) => ({ partition, offset: Number(high) }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** Resolves when the offsets recorded in Redis reach the end of every partition. */
export async function waitCaughtUp(
  store: SpendStore,
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  const target = (await endOffsets(kafka, topic)).filter(({ offset }) => offset > 0);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = await store.readMeta();
    const recorded = new Map((meta?.offsets ?? []).map(({ partition, offset }) => [partition, offset]));
    if (target.every(({ partition, offset }) => (recorded.get(partition) ?? 0) >= offset)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `tracker not caught up: redis ${JSON.stringify(meta?.offsets)} vs end ${JSON.stringify(target)}`,
      );
    }
    await sleep(100);
  }
}

export interface TrackerEnvOptions {
  topic: string;
  prefix: string;
  groupId?: string;
  databaseUrl?: string;
  extra?: Record<string, string>;
}

/** Environment variables of a tracker for one test (its own topic, group and key prefix). */
export function trackerEnv(options: TrackerEnvOptions): Record<string, string> {
  const services = testServices();
  return {
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC: options.topic,
    REDIS_URL: services.redisUrl,
    TRACKER_GROUP_ID: options.groupId ?? uniqueName("rt-tracker"),
    REDIS_KEY_PREFIX: options.prefix,
    OPS_PORT: "0",
    OPS_HOST: "127.0.0.1",
    LOG_LEVEL: "error",
    TRACKER_MAX_WAIT_MS: "100",
    // A killed member's partitions move after this (the broker's minimum), not after 30 s.
    TRACKER_SESSION_TIMEOUT_MS: "6000",
    ...(options.databaseUrl === undefined ? {} : { DATABASE_URL: options.databaseUrl }),
    ...options.extra,
  };
}

/** Resolves when `check` returns true, polling; rejects after `timeoutMs` with `what`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}
