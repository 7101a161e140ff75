export { buildCommit, LAKE_VERSION, parquetCreatedBy } from "./build-info.js";
export {
  type Action,
  type AddAction,
  checkpointFileName,
  commitFileName,
  type MetadataAction,
  type ProtocolAction,
  type RemoveAction,
  type TxnAction,
} from "./delta/actions.js";
export { writeCheckpoint } from "./delta/checkpoint.js";
export {
  DEFAULT_PARQUET_OPTIONS,
  type ParquetCompression,
  type ParquetOptions,
  parquetCreatedByOf,
} from "./delta/parquet.js";
export { type PartitionValues, serializePartitionValue } from "./delta/partitions.js";
export {
  type Column,
  type ColumnType,
  type Row,
  schemaString,
  typeName,
  types,
  type Value,
} from "./delta/schema.js";
export { LOG_DIR, readTableState, TableState } from "./delta/state.js";
export { fileStats } from "./delta/stats.js";
export {
  DEFAULT_DELTA_OPTIONS,
  DeltaLakeSink,
  DeltaTable,
  type DeltaTableOptions,
  WRITER_PROTOCOL,
} from "./delta/table.js";
export { formatDecimal, formatTimestampIso, parseDecimal } from "./delta/values.js";
export { isLakeError, LAKE_ERROR_CODES, LakeError, type LakeErrorCode } from "./errors.js";
export type { ExportProgress } from "./export/export-run.js";
export { DeltaExporter, type ExporterOptions, type TableExportReport } from "./export/exporter.js";
export {
  type LakeEnv,
  type LakeLocation,
  type LakeSettings,
  lakeEnvSchema,
  lakeSettingsFromEnv,
  openLakeSink,
  openObjectStore,
} from "./export/settings.js";
export {
  EXPORT_TABLE_KEYS,
  EXPORT_TABLES,
  type ExportTable,
  type ExportTableKey,
  lakeRow,
} from "./export/tables.js";
export { FINGERPRINT_TAG, GOLD_TOKEN, streamToken, TOKEN_PREFIX } from "./export/tokens.js";
export type {
  CommitRequest,
  CommitResult,
  IdempotencyToken,
  LakeFile,
  LakeSink,
  StagedFile,
  StagedFiles,
  StageOptions,
  TableSpec,
  TableWriter,
} from "./lake.js";
export { AzureBlobObjectStore, type AzureBlobStoreOptions, type AzureCredentials } from "./storage/azure.js";
export { LocalObjectStore } from "./storage/local.js";
export { joinPath, type ObjectInfo, type ObjectStore } from "./storage/object-store.js";
