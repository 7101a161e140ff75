import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@adpipe/telemetry";
import { type BackoffOptions, backoffDelayMs } from "@adpipe/telemetry";
import type { Kafka } from "kafkajs";

/** 0.5 s, doubling, at most 5 s apart: about half a minute over the ten attempts. */
export const COORDINATOR_RETRY: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 5_000, jitter: 0 };
export const COORDINATOR_ATTEMPTS = 10;

export interface GroupOffsetsQuery {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly logger: Logger;
  /** Stops retrying (the tracker is stopping). */
  readonly stopping: () => boolean;
}

/**
 * Whether the consumer group committed any offset of the topic: a group that consumed before but left no state
 * in Redis means Redis lost it. Right after a broker starts (or while the group coordinator moves) the offset
 * fetch answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS, which kafkajs' admin does not retry here, and
 * the tracker would fail to start (exit 1). Retriable errors are retried for about half a minute.
 */
export async function groupHasCommittedOffsets(query: GroupOffsetsQuery): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchGroupHasCommittedOffsets(query);
    } catch (error) {
      const retriable = error instanceof Error && "retriable" in error && error.retriable === true;
      if (!retriable || attempt >= COORDINATOR_ATTEMPTS || query.stopping()) throw error;
      const delay = backoffDelayMs(attempt, COORDINATOR_RETRY);
      // An expected state right after a broker starts: one line, no stack trace.
      query.logger.info(
        { reason: error.message, attempt, retryInMs: delay },
        "Kafka group coordinator not ready yet: retrying",
      );
      await sleep(delay);
    }
  }
}

async function fetchGroupHasCommittedOffsets(query: GroupOffsetsQuery): Promise<boolean> {
  const admin = query.kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.fetchOffsets({ groupId: query.groupId, topics: [query.topic] });
    return topics.some((entry) => entry.partitions.some((p) => Number(p.offset) >= 0));
  } finally {
    await admin.disconnect();
  }
}
