import { generationTopic } from "@adpipe/core";

/** appId prefix of the export's idempotency tokens (Delta txn actions). */
export const TOKEN_PREFIX = "adpipe-export/";
export const GOLD_TOKEN = `${TOKEN_PREFIX}gold`;
/** Delta add.tags key holding a Gold day's content fingerprint. */
export const FINGERPRINT_TAG = "adpipe.fingerprint";

/**
 * The Delta txn appId of one exported stream: a partition of a topic's generation (generation 0 keeps the name
 * it always had; a recreated topic's new log is `<topic>#g<n>`, a stream of its own starting at offset 0).
 */
export function streamToken(topic: string, partition: number, generation = 0): string {
  return `${TOKEN_PREFIX}${generationTopic(topic, generation)}/${partition}`;
}
