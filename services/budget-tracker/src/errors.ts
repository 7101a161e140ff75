import { defineErrors } from "@adpipe/errors";

export const TRACKER_ERROR_CODES = ["rebuild_unavailable", "rebuild_failed", "invalid_state"] as const;
export type TrackerErrorCode = (typeof TRACKER_ERROR_CODES)[number];

/** The one error class of the budget-tracker service. */
export class TrackerError extends defineErrors("ADP_TRACKER", TRACKER_ERROR_CODES) {}
