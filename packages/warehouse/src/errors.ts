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
] as const;
export type WarehouseErrorCode = (typeof WAREHOUSE_ERROR_CODES)[number];

export class WarehouseError extends Error {
  override readonly name = "WarehouseError";
  readonly code: WarehouseErrorCode;

  constructor(code: WarehouseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isWarehouseError(value: unknown): value is WarehouseError {
  return value instanceof WarehouseError;
}
