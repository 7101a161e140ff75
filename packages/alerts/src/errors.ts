import { defineErrors } from "@adpipe/errors";

/** Every way an alerts operation fails loudly. */
export const ALERTS_ERROR_CODES = [
  /** A named query file is missing. */
  "query_not_found",
  /** A named query is malformed, or a row it returned is not what its header says. */
  "query_invalid",
  /** Options given to the evaluator or the dispatcher are out of range. */
  "options_invalid",
  /** A webhook answered something other than 2xx, or did not answer in time. */
  "webhook_failed",
] as const;
export type AlertsErrorCode = (typeof ALERTS_ERROR_CODES)[number];

export class AlertsError extends defineErrors("ADP_ALERTS", ALERTS_ERROR_CODES) {}
