import type { PartitionValues } from "./delta/partitions.js";
import type { Column, Row } from "./delta/schema.js";

/**
 * The adapter between the exporter and a table format. `LakeSink` is one lake (a storage location holding tables
 * in one format); `TableWriter` is one table in it. The Delta Lake implementation is `DeltaLakeSink`; another
 * format (e.g. Iceberg) implements the same two interfaces, see docs/lake.md.
 */
export interface LakeSink {
  /** The table format, e.g. "delta". */
  readonly format: string;
  /** Where the lake is, without secrets (e.g. "file:///data/lake", "azure://account/container/prefix"). */
  readonly location: string;
  /** A handle on one table; no I/O until a method is called. */
  table(spec: TableSpec): TableWriter;
}

/** What a table looks like: name, location inside the lake, columns, partitioning. */
export interface TableSpec {
  /** Display name, e.g. "silver.ad_click_events_clean". */
  readonly name: string;
  /** Folder inside the lake, e.g. "silver/ad_click_events_clean". */
  readonly path: string;
  readonly columns: readonly Column[];
  readonly partitionColumns: readonly string[];
  readonly description?: string;
  /** Table properties (Delta: metaData.configuration). */
  readonly configuration?: Readonly<Record<string, string>>;
}

/**
 * A progress marker committed atomically with the data it covers (Delta: a `txn` action). A writer that crashed
 * after committing finds its token in the table and does not write the same data twice.
 */
export interface IdempotencyToken {
  readonly appId: string;
  readonly version: number;
}

/** Data files written but not yet visible to readers (a commit makes them part of the table). */
export interface StagedFiles {
  readonly files: readonly StagedFile[];
}

export interface StagedFile {
  readonly path: string;
  readonly partitionValues: PartitionValues;
  readonly rows: number;
  readonly bytes: number;
}

/** A data file currently part of the table. */
export interface LakeFile {
  readonly path: string;
  readonly partitionValues: PartitionValues;
  readonly bytes: number;
  /** From the file's statistics, when present. */
  readonly rows: number | null;
  readonly tags: Readonly<Record<string, string>>;
}

export interface CommitRequest {
  /** Progress markers to record with the data (they replace earlier versions of the same appId). */
  readonly tokens?: readonly IdempotencyToken[];
  /**
   * The token versions this write continues from (null = no token yet). When the table holds a different version
   * for one of them, another writer already committed this progress: the commit is not made ("superseded").
   * Without an expectation, a token whose appId already has this version or a higher one is "superseded".
   * A whole-table replacement (`replace: "table"`) is never superseded: it sets the tokens it carries.
   */
  readonly expectedTokens?: ReadonlyMap<string, number | null>;
  /**
   * Replace instead of append: every current file of the listed partitions (or of the whole table) is removed in
   * the same commit that adds the staged files.
   */
  readonly replace?: { readonly partitions: readonly PartitionValues[] } | "table";
  /**
   * The table version the caller planned a partition replacement against. A concurrent commit that added or
   * removed files in those partitions since then fails the commit with LakeError "commit_conflict".
   */
  readonly readVersion?: number;
  /** Shown in the table history (Delta: commitInfo.operation), e.g. "WRITE". */
  readonly operation?: string;
  readonly operationParameters?: Readonly<Record<string, string>>;
}

export type CommitResult =
  | {
      readonly outcome: "committed";
      readonly version: number;
      /** 1 + the number of times another writer took the version first. */
      readonly attempts: number;
      readonly addedFiles: number;
      readonly removedFiles: number;
      readonly rows: number;
      readonly bytes: number;
    }
  | { readonly outcome: "superseded"; readonly version: number; readonly attempts: number };

export interface StageOptions {
  /** Metadata stored with each file (Delta: add.tags), e.g. a content fingerprint. */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface TableWriter {
  readonly spec: TableSpec;
  /** Creates the table when it does not exist (idempotent, safe to race); checks the schema when it does. */
  create(): Promise<number>;
  /** The latest version, -1 when the table does not exist. */
  version(): Promise<number>;
  /** Idempotency tokens recorded in the table: appId → version. */
  tokens(): Promise<ReadonlyMap<string, number>>;
  /** The data files of the latest version. */
  files(): Promise<readonly LakeFile[]>;
  /** Writes data files for rows (grouped by partition); readers do not see them until commit. */
  stage(rows: readonly Row[], options?: StageOptions): Promise<StagedFiles>;
  /** Makes staged files part of the table in one atomic commit (retrying on a lost race for the version). */
  commit(staged: readonly StagedFiles[], request: CommitRequest): Promise<CommitResult>;
  /** Deletes staged files that will not be committed (best effort). */
  discard(staged: readonly StagedFiles[]): Promise<void>;
  /** stage + commit; discards the files when the commit is superseded or fails. */
  append(rows: readonly Row[], request: CommitRequest & StageOptions): Promise<CommitResult>;
}
