import { defineErrors } from "@adpipe/errors";

/** Every way a warehouse operation fails loudly. */
export const WAREHOUSE_ERROR_CODES = [
  "migration_invalid",
  "migration_checksum_mismatch",
  "migration_failed",
  "migration_lock_timeout",
  "query_not_found",
  "query_invalid",
  "batch_invalid",
  "batch_write_failed",
  "range_invalid",
  /** A replay would write records no live pipeline position accounts for (see replay.ts). */
  "replay_unowned",
  /** A batch's stored offsets are of another topic generation than the batch (a reset it has not seen). */
  "generation_changed",
  /** A stored offset lies beyond the log end the batch was fetched with: the topic was deleted and recreated. */
  "topic_reset",
  /** adpipe offsets reset could not apply its plan (state changed meanwhile, unfinished reset, bad target). */
  "reset_refused",
] as const;
export type WarehouseErrorCode = (typeof WAREHOUSE_ERROR_CODES)[number];

/** A partition whose stored next offset lies beyond the log end (the topic's log was replaced). */
export interface TopicResetFinding {
  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  readonly storedOffset: string;
  readonly logEndOffset: string;
}

export class WarehouseError extends defineErrors("ADP_WAREHOUSE", WAREHOUSE_ERROR_CODES) {
  /** For "topic_reset": the partitions found beyond the log end. */
  readonly resets: readonly TopicResetFinding[];

  constructor(
    code: WarehouseErrorCode,
    message: string,
    options?: { cause?: unknown; resets?: readonly TopicResetFinding[] },
  ) {
    super(code, message, options);
    this.resets = options?.resets ?? [];
  }
}

export function isWarehouseError(value: unknown): value is WarehouseError {
  return value instanceof WarehouseError;
}
