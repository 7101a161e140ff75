export const TRACKER_ERROR_CODES = ["rebuild_unavailable", "rebuild_failed", "invalid_state"] as const;
export type TrackerErrorCode = (typeof TRACKER_ERROR_CODES)[number];

/** The one error class of the budget-tracker service. */
export class TrackerError extends Error {
  override readonly name = "TrackerError";
  readonly code: TrackerErrorCode;

  constructor(code: TrackerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
