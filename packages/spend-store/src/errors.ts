import { defineErrors } from "@adpipe/errors";

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
export class SpendStoreError extends defineErrors("ADP_SPEND_STORE", SPEND_STORE_ERROR_CODES) {}
