import { randomUUID } from "node:crypto";
import { type Logger, silentLogger } from "@adpipe/telemetry";
import { LAKE_VERSION } from "../build-info.js";
import { LakeError } from "../errors.js";
import type {
  CommitRequest,
  CommitResult,
  LakeFile,
  LakeSink,
  StagedFiles,
  StageOptions,
  TableSpec,
  TableWriter,
} from "../lake.js";
import { joinPath, type ObjectStore } from "../storage/object-store.js";
import {
  type Action,
  type AddAction,
  commitFileName,
  type RemoveAction,
  serializeActions,
} from "./actions.js";
import { writeCheckpoint } from "./checkpoint.js";
import { DEFAULT_PARQUET_OPTIONS, type ParquetOptions, rowsToArrow, writeParquet } from "./parquet.js";
import {
  type PartitionValues,
  partitionDirectory,
  partitionKey,
  pathToUri,
  serializePartitionValue,
  uriToPath,
} from "./partitions.js";
import {
  type Column,
  parseSchemaString,
  type Row,
  sameColumns,
  schemaString,
  typeName,
  validateColumns,
} from "./schema.js";
import { LOG_DIR, type ReadCommit, readNewCommits, readTableState, type TableState } from "./state.js";
import { fileStats } from "./stats.js";
import { checkRowValue } from "./values.js";

export const WRITER_PROTOCOL = { minReaderVersion: 1, minWriterVersion: 2 } as const;
const ENGINE_INFO = `adpipe-lake/${LAKE_VERSION}`;

export interface DeltaTableOptions {
  /** Write a Parquet checkpoint after every N-th commit (Delta's default is 10). */
  readonly checkpointInterval: number;
  readonly parquet: ParquetOptions;
  /** Rows per data file at most (a larger partition group is split). */
  readonly maxRowsPerFile: number;
  /** How often a commit is re-attempted after losing the race for a version. */
  readonly maxCommitAttempts: number;
  readonly logger: Logger;
  /** Wall clock (ms); tests may pin it. */
  readonly now: () => number;
}

export const DEFAULT_DELTA_OPTIONS: DeltaTableOptions = {
  checkpointInterval: 10,
  parquet: DEFAULT_PARQUET_OPTIONS,
  maxRowsPerFile: 1_000_000,
  maxCommitAttempts: 20,
  logger: silentLogger,
  now: () => Date.now(),
};

interface StagedDeltaFiles extends StagedFiles {
  readonly adds: readonly AddAction[];
}

function isStagedDelta(staged: StagedFiles): staged is StagedDeltaFiles {
  return Array.isArray((staged as Partial<StagedDeltaFiles>).adds);
}

function samePartition(partitionColumns: readonly string[], a: PartitionValues, b: PartitionValues): boolean {
  return partitionColumns.every((name) => (a[name] ?? null) === (b[name] ?? null));
}

function numRecords(stats: string | null | undefined): number | null {
  if (stats === null || stats === undefined) return null;
  try {
    const parsed = JSON.parse(stats) as { numRecords?: unknown };
    return typeof parsed.numRecords === "number" ? parsed.numRecords : null;
  } catch {
    return null;
  }
}

/**
 * One Delta table on an object store, written by this process. Keeps the latest table state in memory and
 * brings it up to date before every decision by reading only the commits it has not seen.
 *
 * Commit protocol (optimistic concurrency, PROTOCOL.md "Requirements for Writers"): data files are written
 * first under fresh unique names; the commit is a put-if-absent of `_delta_log/<version+1>.json`. Losing that
 * race means another writer committed the version: the new commits are read, the request's preconditions
 * (idempotency tokens, partition conflicts) are checked again, and the commit is re-attempted at the next version.
 */
export class DeltaTable implements TableWriter {
  private state: TableState | null = null;

  constructor(
    private readonly store: ObjectStore,
    readonly spec: TableSpec,
    private readonly options: DeltaTableOptions = DEFAULT_DELTA_OPTIONS,
  ) {
    validateColumns(spec.columns, spec.partitionColumns);
    if (!Number.isInteger(options.checkpointInterval) || options.checkpointInterval < 1) {
      throw new LakeError("invalid_config", "checkpointInterval must be a positive integer");
    }
  }

  private get log(): string {
    return joinPath(this.spec.path, LOG_DIR);
  }

  /** The latest state and the commits read to get there. */
  private async refresh(): Promise<{ state: TableState; read: readonly ReadCommit[] }> {
    if (this.state === null) {
      this.state = await readTableState(this.store, this.spec.path);
      return { state: this.state, read: [] };
    }
    const read = await readNewCommits(this.store, this.spec.path, this.state);
    return { state: this.state, read };
  }

  /**
   * The writer's columns that the table lacks, when the table's schema is exactly the writer's first columns
   * (same names, types, nullability, partitioning) and every further column is nullable: a schema this writer
   * may extend (Delta readers read a column absent from older files as null). Otherwise null.
   */
  private addedColumns(state: TableState): readonly Column[] | null {
    const metadata = state.metadata;
    if (metadata === null) return null;
    const existing = parseSchemaString(metadata.schemaString);
    const wanted = this.spec.columns;
    if (
      existing === null ||
      existing.length >= wanted.length ||
      !sameColumns(existing, wanted.slice(0, existing.length)) ||
      metadata.partitionColumns.join("\u0000") !== this.spec.partitionColumns.join("\u0000")
    ) {
      return null;
    }
    const added = wanted.slice(existing.length);
    return added.every((column) => column.nullable) ? added : null;
  }

  /**
   * Adds the writer's new nullable columns to an existing table (one commit with the new metaData), e.g. after
   * a warehouse migration added a Gold column. Safe to race: a writer that finds the columns added already
   * does nothing.
   */
  private async addColumns(state: TableState): Promise<TableState> {
    let current = state;
    for (let attempt = 1; attempt <= this.options.maxCommitAttempts; attempt++) {
      const added = this.addedColumns(current);
      const metadata = current.metadata;
      if (added === null || metadata === null) return current;
      const version = current.version + 1;
      const actions: Action[] = [
        {
          commitInfo: {
            timestamp: this.options.now(),
            operation: "ADD COLUMNS",
            operationParameters: {
              columns: JSON.stringify(
                added.map((column) => ({ column: column.name, type: typeName(column.type) })),
              ),
            },
            readVersion: version - 1,
            isBlindAppend: false,
            engineInfo: ENGINE_INFO,
            txnId: randomUUID(),
          },
        },
        { metaData: { ...metadata, schemaString: schemaString(this.spec.columns) } },
      ];
      if (
        await this.store.putIfAbsent(joinPath(this.log, commitFileName(version)), serializeActions(actions))
      ) {
        current.apply(actions, version);
        this.options.logger.info(
          { table: this.spec.name, version, columns: added.map((column) => column.name) },
          "added columns to the Delta table",
        );
        return current;
      }
      current = (await this.refresh()).state;
    }
    throw new LakeError(
      "commit_retries_exhausted",
      `${this.spec.name}: other writers took ${this.options.maxCommitAttempts} versions in a row`,
    );
  }

  private checkWritable(state: TableState): void {
    const protocol = state.protocol;
    if (
      protocol !== null &&
      (protocol.minReaderVersion > WRITER_PROTOCOL.minReaderVersion ||
        protocol.minWriterVersion > WRITER_PROTOCOL.minWriterVersion)
    ) {
      throw new LakeError(
        "protocol_unsupported",
        `${this.spec.name}: table needs reader ${protocol.minReaderVersion} / writer ${protocol.minWriterVersion}; ` +
          `this writer implements reader 1 / writer 2 (no deletion vectors, column mapping, constraints)`,
      );
    }
    const metadata = state.metadata;
    if (metadata === null) return;
    const columns = parseSchemaString(metadata.schemaString);
    if (
      columns === null ||
      !sameColumns(columns, this.spec.columns) ||
      metadata.partitionColumns.join("\u0000") !== this.spec.partitionColumns.join("\u0000")
    ) {
      throw new LakeError(
        "schema_mismatch",
        `${this.spec.name}: the table at ${this.spec.path} has a different schema or partitioning than this writer ` +
          "(only adding nullable columns at the end is supported: export to a new path or migrate the table)",
      );
    }
  }

  async create(): Promise<number> {
    const { state } = await this.refresh();
    if (state.version >= 0) {
      const current = await this.addColumns(state);
      this.checkWritable(current);
      return current.version;
    }
    const now = this.options.now();
    const actions: Action[] = [
      {
        commitInfo: {
          timestamp: now,
          operation: "CREATE TABLE",
          operationParameters: {
            partitionBy: JSON.stringify(this.spec.partitionColumns),
            description: this.spec.description ?? "",
          },
          isBlindAppend: true,
          engineInfo: ENGINE_INFO,
          txnId: randomUUID(),
        },
      },
      { protocol: { ...WRITER_PROTOCOL } },
      {
        metaData: {
          id: randomUUID(),
          name: this.spec.name,
          description: this.spec.description ?? null,
          format: { provider: "parquet", options: {} },
          schemaString: schemaString(this.spec.columns),
          partitionColumns: [...this.spec.partitionColumns],
          configuration: { ...(this.spec.configuration ?? {}) },
          createdTime: now,
        },
      },
    ];
    const created = await this.store.putIfAbsent(
      joinPath(this.log, commitFileName(0)),
      serializeActions(actions),
    );
    if (created)
      this.options.logger.info(
        { table: this.spec.name, location: this.store.description },
        "created Delta table",
      );
    // Created by us or by a concurrent writer: read it either way and check it is the table we expect.
    const after = await this.addColumns((await this.refresh()).state);
    this.checkWritable(after);
    return after.version;
  }

  async version(): Promise<number> {
    return (await this.refresh()).state.version;
  }

  async tokens(): Promise<ReadonlyMap<string, number>> {
    const { state } = await this.refresh();
    return new Map([...state.txns.values()].map((txn) => [txn.appId, txn.version]));
  }

  async files(): Promise<readonly LakeFile[]> {
    const { state } = await this.refresh();
    return [...state.files.values()].map((add) => ({
      path: uriToPath(add.path),
      partitionValues: add.partitionValues,
      bytes: add.size,
      rows: numRecords(add.stats),
      tags: add.tags ?? {},
    }));
  }

  async stage(rows: readonly Row[], options: StageOptions = {}): Promise<StagedFiles> {
    const { columns, partitionColumns } = this.spec;
    const partitionSpecs = partitionColumns.map((name) => columns.find((c) => c.name === name)!);
    const groups = new Map<string, { values: PartitionValues; rows: Row[] }>();
    for (const row of rows) {
      for (const column of columns) checkRowValue(column, row[column.name]);
      const values: Record<string, string | null> = {};
      for (const column of partitionSpecs)
        values[column.name] = serializePartitionValue(column, row[column.name] ?? null);
      const key = partitionKey(partitionColumns, values);
      let group = groups.get(key);
      if (group === undefined) {
        group = { values, rows: [] };
        groups.set(key, group);
      }
      group.rows.push(row);
    }
    // Partition columns live in the log, not in the files (as Spark writes them).
    const dataColumns = columns.filter((column) => !partitionColumns.includes(column.name));
    const adds: AddAction[] = [];
    const files: StagedFiles["files"][number][] = [];
    for (const group of groups.values()) {
      for (let start = 0; start < group.rows.length; start += this.options.maxRowsPerFile) {
        const chunk = group.rows.slice(start, start + this.options.maxRowsPerFile);
        const bytes = writeParquet(rowsToArrow(dataColumns, chunk), this.options.parquet);
        const directory = partitionDirectory(partitionColumns, group.values);
        const name = `part-${String(files.length).padStart(5, "0")}-${randomUUID()}.c000.${this.options.parquet.compression}.parquet`;
        const path = directory === "" ? name : `${directory}/${name}`;
        await this.store.put(joinPath(this.spec.path, path), bytes);
        adds.push({
          path: pathToUri(path),
          partitionValues: group.values,
          size: bytes.length,
          modificationTime: this.options.now(),
          dataChange: true,
          stats: fileStats(columns, partitionColumns, chunk),
          ...(options.tags === undefined ? {} : { tags: { ...options.tags } }),
        });
        files.push({ path, partitionValues: group.values, rows: chunk.length, bytes: bytes.length });
      }
    }
    const staged: StagedDeltaFiles = { files, adds };
    return staged;
  }

  async discard(staged: readonly StagedFiles[]): Promise<void> {
    for (const batch of staged) {
      for (const file of batch.files) {
        await this.store.delete(joinPath(this.spec.path, file.path)).catch((error: unknown) => {
          this.options.logger.warn(
            { err: error, file: file.path },
            "could not delete an uncommitted data file",
          );
        });
      }
    }
  }

  /** Why the request must not be committed on top of `state` ("superseded"), or null. */
  private superseded(state: TableState, request: CommitRequest): boolean {
    // A whole-table overwrite replaces everything, progress markers included.
    if (request.replace === "table") return false;
    for (const token of request.tokens ?? []) {
      const current = state.txns.get(token.appId)?.version ?? null;
      const expected = request.expectedTokens?.get(token.appId);
      if (expected !== undefined) {
        if (current !== expected) return true;
      } else if (current !== null && current >= token.version) {
        return true;
      }
    }
    return false;
  }

  private checkPartitionConflicts(request: CommitRequest, read: readonly ReadCommit[], since: number): void {
    const replace = request.replace;
    if (replace === undefined || replace === "table") return;
    const { partitionColumns } = this.spec;
    for (const commit of read) {
      if (commit.version <= since) continue;
      for (const action of commit.actions) {
        const values =
          "add" in action
            ? action.add.partitionValues
            : "remove" in action
              ? (action.remove.partitionValues ?? null)
              : undefined;
        if (values === undefined) continue;
        // A remove without partition values could be anywhere: treat it as touching every partition.
        if (values === null || replace.partitions.some((p) => samePartition(partitionColumns, p, values))) {
          throw new LakeError(
            "commit_conflict",
            `${this.spec.name}: version ${commit.version} changed partitions this commit replaces; plan again`,
          );
        }
      }
    }
  }

  async commit(staged: readonly StagedFiles[], request: CommitRequest): Promise<CommitResult> {
    const adds = staged.flatMap((batch) => {
      if (!isStagedDelta(batch))
        throw new LakeError("invalid_rows", "staged files were not staged by this table");
      return batch.adds;
    });
    let { state, read } = await this.refresh();
    if (state.version < 0)
      throw new LakeError("not_allowed", `${this.spec.name}: create the table before writing`);
    this.checkWritable(state);
    const since = request.readVersion ?? state.version;
    const seen: ReadCommit[] = [...read];
    for (let attempt = 1; attempt <= this.options.maxCommitAttempts; attempt++) {
      this.checkPartitionConflicts(request, seen, since);
      if (this.superseded(state, request)) {
        return { outcome: "superseded", version: state.version, attempts: attempt };
      }
      const now = this.options.now();
      const removes: RemoveAction[] = [];
      if (request.replace !== undefined) {
        const replace = request.replace;
        for (const file of state.files.values()) {
          if (
            replace === "table" ||
            replace.partitions.some((p) => samePartition(this.spec.partitionColumns, p, file.partitionValues))
          ) {
            removes.push({
              path: file.path,
              deletionTimestamp: now,
              dataChange: true,
              extendedFileMetadata: true,
              partitionValues: file.partitionValues,
              size: file.size,
            });
          }
        }
      }
      if (removes.length > 0 && state.metadata?.configuration["delta.appendOnly"] === "true") {
        throw new LakeError("not_allowed", `${this.spec.name} is append-only (delta.appendOnly=true)`);
      }
      const rows = adds.reduce((sum, add) => sum + (numRecords(add.stats) ?? 0), 0);
      const bytes = adds.reduce((sum, add) => sum + add.size, 0);
      const version = state.version + 1;
      const actions: Action[] = [
        {
          commitInfo: {
            timestamp: now,
            operation: request.operation ?? "WRITE",
            operationParameters: {
              mode: request.replace === undefined ? "Append" : "Overwrite",
              ...(request.operationParameters ?? {}),
            },
            readVersion: version - 1,
            isBlindAppend: request.replace === undefined,
            operationMetrics: {
              numFiles: String(adds.length),
              numOutputRows: String(rows),
              numOutputBytes: String(bytes),
              numRemovedFiles: String(removes.length),
            },
            engineInfo: ENGINE_INFO,
            // Unique per attempt: lets a store recognise its own retried write (see AzureBlobObjectStore).
            txnId: randomUUID(),
          },
        },
        ...(request.tokens ?? []).map((token) => ({
          txn: { appId: token.appId, version: token.version, lastUpdated: now },
        })),
        ...removes.map((remove) => ({ remove })),
        ...adds.map((add) => ({ add })),
      ];
      const committed = await this.store.putIfAbsent(
        joinPath(this.log, commitFileName(version)),
        serializeActions(actions),
      );
      if (committed) {
        state.apply(actions, version);
        await this.maybeCheckpoint(state);
        return {
          outcome: "committed",
          version,
          attempts: attempt,
          addedFiles: adds.length,
          removedFiles: removes.length,
          rows,
          bytes,
        };
      }
      this.options.logger.debug(
        { table: this.spec.name, version, attempt },
        "lost the race for a version; re-reading the log",
      );
      ({ state, read } = await this.refresh());
      seen.push(...read);
      this.checkWritable(state);
    }
    throw new LakeError(
      "commit_retries_exhausted",
      `${this.spec.name}: other writers took ${this.options.maxCommitAttempts} versions in a row`,
    );
  }

  private async maybeCheckpoint(state: TableState): Promise<void> {
    if (state.version === 0 || state.version % this.options.checkpointInterval !== 0) return;
    try {
      const result = await writeCheckpoint(
        this.store,
        this.spec.path,
        state,
        this.options.parquet,
        this.options.now(),
      );
      this.options.logger.debug({ table: this.spec.name, ...result }, "checkpoint written");
    } catch (error) {
      // The commit is durable; a missing checkpoint only makes the next reader replay more JSON.
      this.options.logger.warn(
        { err: error, table: this.spec.name, version: state.version },
        "checkpoint failed",
      );
    }
  }

  async append(rows: readonly Row[], request: CommitRequest & StageOptions): Promise<CommitResult> {
    const staged = await this.stage(rows, request);
    let result: CommitResult;
    try {
      result = await this.commit([staged], request);
    } catch (error) {
      await this.discard([staged]);
      throw error;
    }
    if (result.outcome === "superseded") await this.discard([staged]);
    return result;
  }
}

/** Delta Lake tables under one object store root: `<root>/<spec.path>/_delta_log/...`. */
export class DeltaLakeSink implements LakeSink {
  readonly format = "delta";
  readonly location: string;
  private readonly options: DeltaTableOptions;

  constructor(
    private readonly store: ObjectStore,
    options: Partial<DeltaTableOptions> = {},
  ) {
    this.location = store.description;
    this.options = { ...DEFAULT_DELTA_OPTIONS, ...options };
  }

  table(spec: TableSpec): DeltaTable {
    return new DeltaTable(this.store, spec, this.options);
  }
}
