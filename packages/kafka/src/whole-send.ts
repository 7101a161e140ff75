import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelayMs } from "@adpipe/telemetry";
import type { ProducerConfig } from "kafkajs";

/**
 * Producer settings for sendWhole: kafkajs must not retry a send itself. Its retry resends only to brokers that
 * have not answered yet; when a dead leader's partitions moved to a broker that already answered for its own,
 * their records are never resent and the send still resolves (kafkajs 2.2.4, a three-broker cluster with one
 * broker SIGKILLed lost a few records per send this way).
 */
export const WHOLE_SEND_PRODUCER: Pick<ProducerConfig, "retry"> = Object.freeze({ retry: { retries: 0 } });

export interface SendWholeOptions {
  /** Attempts in all (default 8: about a minute of backoff, longer than a leader election). */
  attempts?: number;
  /** First delay between attempts (default 250 ms, doubling, jittered, at most 10 s). */
  initialDelayMs?: number;
}

/**
 * Runs `send` (one kafkajs send of a producer made with WHOLE_SEND_PRODUCER) until it succeeds, every time in
 * full: a retried send may write some records twice (consumers deduplicate), never drop one.
 */
export async function sendWhole<T>(send: () => Promise<T>, options: SendWholeOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(
        backoffDelayMs(attempt, { initialDelayMs: options.initialDelayMs ?? 250, maxDelayMs: 10_000 }),
      );
    }
  }
}
