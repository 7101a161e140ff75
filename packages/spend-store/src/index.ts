export { type AheadOfPaceState, parseAheadSeen, readAheadOfPace } from "./ahead-of-pace.js";
export { CalendarMemory } from "./calendars.js";
export { type SpendStoreEnv, spendStoreEnvSchema } from "./env.js";
export { SPEND_STORE_ERROR_CODES, SpendStoreError, type SpendStoreErrorCode } from "./errors.js";
export { type ForecastRefreshOutcome, forecastFields } from "./forecast-refresh.js";
export { type RecordPosition, spendRecordOf } from "./from-event.js";
export { type SpendKeys, spendKeys } from "./keys.js";
export {
  chunked,
  JOB_CHUNK,
  type KeyspaceListing,
  KeyspacePass,
  type KeyspacePassStats,
} from "./keyspace-pass.js";
export { withRebuildLock } from "./rebuild-lock.js";
export type {
  BudgetObservation,
  PeriodOf,
  PeriodWindow,
  SpendContribution,
  SpendRecord,
} from "./records.js";
export type { ReservationExpiryOutcome } from "./reservation-expiry.js";
export { loadScripts, luaScript, SCRIPT_NAMES, type ScriptName } from "./scripts.js";
export type { ShapeHistorySource, ShapeRefreshOutcome } from "./shape-refresh.js";
export {
  BUDGET_MODE_CODES,
  BUDGET_SOURCE_CODES,
  CLOSED_PERIOD_START_MS,
  dedupTtlSeconds,
  type PackedBucket,
  type PackedSlice,
  SliceBatch,
  type SliceGrouping,
  type SliceOptions,
  utcDay,
} from "./slices.js";
export { HASH_SLOTS, slotTagOf, slotTags } from "./state-guards.js";
export { SpendStore } from "./store.js";
export {
  DEFAULT_DEDUP_HORIZON_MS,
  type SpendStoreOptions,
} from "./store-context.js";
export type {
  BatchOutcome,
  BatchStatus,
  MetaState,
  PartitionOffset,
  RebuildLock,
  ResetPositionsOutcome,
  RestoreOutcome,
  RestoreSnapshot,
  ServingFlip,
  SnapshotAdvertiser,
  SnapshotCalendar,
  StoredState,
  SweepOutcome,
  TrackerResetDetection,
} from "./store-types.js";
