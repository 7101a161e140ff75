import { defineErrors } from "@adpipe/errors";

export const KAFKA_ERROR_CODES = [
  /** Creating or deleting topics through the Kafka admin API: Event Hubs does not allow it. */
  "unsupported_on_event_hubs",
  /** The topic (event hub) does not exist and cannot be created from here. */
  "topic_missing",
  /** The topic exists with fewer partitions than asked for. */
  "topic_partition_mismatch",
  /** An admin request failed (see cause). */
  "admin_failed",
  /** The broker rejected the credentials (wrong SharedAccessKey, user or password). */
  "authentication_failed",
  /** The consumer could not be started (see cause). */
  "consumer_start_failed",
  /** onAssigned failed or returned offsets the consumer could not seek to. */
  "assignment_failed",
  /** The consumer runner gave up restarting a crashed consumer. */
  "consumer_gave_up",
  /** A method was called in a state that does not allow it (e.g. start() twice). */
  "invalid_state",
] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

/** The one error type of @adpipe/kafka. `cause` holds the kafkajs error, when there is one. */
export class KafkaError extends defineErrors("ADP_KAFKA", KAFKA_ERROR_CODES) {}

/** kafkajs marks authentication failures with these error names. */
const AUTHENTICATION_ERROR_NAMES = new Set(["KafkaJSSASLAuthenticationError"]);

/** True when `error` (or any error in its cause chain) is a broker's rejection of our credentials. */
export function isAuthenticationError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 10; depth++) {
    if (AUTHENTICATION_ERROR_NAMES.has(current.name)) return true;
    if (current instanceof KafkaError && current.code === "ADP_KAFKA_AUTHENTICATION_FAILED") return true;
    current = current.cause;
  }
  return false;
}
