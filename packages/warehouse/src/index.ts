export {
  type PartitionOffset,
  reevaluateServing,
  reevaluateServingScope,
  type ServingRules,
  type WriteBatch,
  type WriteBatchOptions,
  type WriteBatchResult,
  writeBatch,
} from "./batch-writer.js";
export { type HourlyCounts, hourlyCounts, MAX_COUNT_HOURS } from "./counts.js";
export {
  DEFAULT_MAX_STORED_PAYLOAD_BYTES,
  type GoldContribution,
  goldContribution,
  type ParseLimits,
} from "./derive.js";
export {
  isWarehouseError,
  type TopicResetFinding,
  WAREHOUSE_ERROR_CODES,
  WarehouseError,
  type WarehouseErrorCode,
} from "./errors.js";
export {
  FUTURE_EVENTS_WARNING_SECONDS,
  type FutureEvents,
  type GoldFreshness,
  readGoldFreshness,
} from "./freshness.js";
export {
  loadMigrations,
  MIGRATION_LOCK_KEY,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
} from "./migrate.js";
export {
  applyRetention,
  ensureDayPartitions,
  PartitionCache,
  type RetentionResult,
  utcDay,
} from "./partitions.js";
export { createPool, type PoolOptions } from "./pool.js";
export { type NamedQuery, namedQuery, namedQueryNames, queryConfig } from "./queries.js";
export type { KafkaRecord, RecordLineage } from "./records.js";
export { type ReplayBatchOptions, type ReplayBatchResult, replayBatch } from "./replay.js";
export { type ReprocessOptions, type ReprocessResult, reprocess } from "./reprocess.js";
export { openServicePool, postgresReadiness, type ServicePoolOptions } from "./service-pool.js";
export {
  type WarehouseRules,
  type WarehouseRulesEnv,
  warehouseRulesEnvSchema,
  warehouseRulesFromEnv,
} from "./settings.js";
export { shapeHistory } from "./shape-history.js";
export {
  applyWarehouseReset,
  clearResetDetections,
  findUnfinishedReset,
  listResetDetections,
  markOffsetReset,
  type OffsetResetRecord,
  type OffsetResetSource,
  type ResetDetectingService,
  type ResetDetection,
  type ResetDetectionRow,
  readTopicGeneration,
  readWarehousePositions,
  recentOffsetResets,
  recordResetDetections,
  startOffsetReset,
  type WarehouseMove,
  type WarehousePositions,
  type WarehouseResetStep,
} from "./topic-resets.js";
export {
  type AdvertiserCalendar,
  advertiserCalendars,
  type CalendarOptions,
  DEFAULT_PIPELINE,
  type LogPosition,
  type PeriodClickIdRow,
  type PeriodSpend,
  periodClickIds,
  periodClickIdsInWindows,
  periodSpendByAdvertiser,
  readRebuildSnapshot,
  storedOffsets,
} from "./tracker-queries.js";
