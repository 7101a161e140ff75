export {
  budgetClockOf,
  loadTrackerConfig,
  REBUILD_SOURCES,
  type RebuildSource,
  type ScaledClock,
  scaledClockAt,
  type TrackerConfig,
  type TrackerEnv,
  trackerEnvSchema,
} from "./config.js";
export { TRACKER_ERROR_CODES, TrackerError, type TrackerErrorCode } from "./errors.js";
export { TrackerMetrics } from "./metrics.js";
export { ReservationExpiry, type ReservationExpiryDeps } from "./reservation-expiry.js";
export { type StartTrackerOptions, startTrackerService, type TrackerService } from "./service.js";
export {
  type AppliedBatch,
  BudgetTracker,
  type BudgetTrackerOptions,
  type TrackerIntervals,
} from "./tracker.js";
