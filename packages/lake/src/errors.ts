import { defineErrors } from "@adpipe/errors";

/** Every way a lake operation fails loudly. */
export const LAKE_ERROR_CODES = [
  /** The object store failed (network, permissions, disk). Retrying later may help. */
  "storage_failed",
  /** Another writer changed what this commit depends on; re-read the table and plan again. */
  "commit_conflict",
  /** Still conflicting after the configured number of attempts. */
  "commit_retries_exhausted",
  /** The table's protocol needs features this writer does not implement (e.g. deletion vectors). */
  "protocol_unsupported",
  /** The existing table's schema or partitioning differs from the one being written. */
  "schema_mismatch",
  /** The _delta_log cannot be interpreted (gap, bad JSON, missing metadata). */
  "log_corrupt",
  /** Rows or values do not fit the table schema. */
  "invalid_rows",
  /** The operation is not allowed on this table (e.g. removing files from an append-only table). */
  "not_allowed",
  /** Bad settings. */
  "invalid_config",
  /** A named SQL file of the package is missing. */
  "query_not_found",
  /** A named SQL file's header does not match its statement, or a call passes the wrong number of values. */
  "query_invalid",
  /** Reading Postgres or recording export progress failed. */
  "export_failed",
] as const;
export type LakeErrorCode = (typeof LAKE_ERROR_CODES)[number];

export class LakeError extends defineErrors("ADP_LAKE", LAKE_ERROR_CODES) {}

export function isLakeError(value: unknown): value is LakeError {
  return value instanceof LakeError;
}
