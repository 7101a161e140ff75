export const SPEND_STORE_ERROR_CODES = [
  "script_missing",
  "redis_reply",
  "unsafe_integer",
  "invalid_input",
  "state_lost",
  "rebuild_failed",
] as const;
export type SpendStoreErrorCode = (typeof SPEND_STORE_ERROR_CODES)[number];

/** The one error class of @adpipe/spend-store. */
export class SpendStoreError extends Error {
  override readonly name = "SpendStoreError";
  readonly code: SpendStoreErrorCode;

  constructor(code: SpendStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
