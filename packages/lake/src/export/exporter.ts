import type { DetectedReset } from "@adpipe/core";
import { type Logger, silentLogger } from "@adpipe/telemetry";
import type pg from "pg";
import { LakeError } from "../errors.js";
import type { LakeSink } from "../lake.js";
import { exportChangedDays } from "./day-snapshots.js";
import type { Counters, ExportProgress, ExportRun } from "./export-run.js";
import { exportAllOffsets } from "./full-offsets.js";
import { exportNewOffsets } from "./incremental-offsets.js";
import { EXPORT_TABLES, type ExportTableKey } from "./tables.js";

export interface TableExportReport {
  readonly table: ExportTableKey;
  readonly full: boolean;
  /** Delta version after the run (-1: table not created). */
  readonly version: number;
  readonly commits: number;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  /** Batches another exporter committed first (its commit carried the same progress; ours was dropped). */
  readonly superseded: number;
  /** Gold plans re-made because a concurrent commit changed the same days. */
  readonly conflicts: number;
  /** Partitions whose Postgres progress was behind the Delta log at start (a crash after commit), now fixed. */
  readonly recovered: number;
  /** True when the run reached the end of what Postgres had committed. */
  readonly caughtUp: boolean;
  /** Kafka records ingested but not yet exported after the run (Bronze exact; Silver an upper bound); Gold: null. */
  readonly lagRecords: number | null;
  readonly durationMs: number;
  /**
   * Streams of the warehouse's current topic generation whose exported position lies beyond what the warehouse
   * holds (the source was reset under the lake): their topics are not exported until `adpipe offsets reset`
   * starts a new generation (storedOffset = the lake's next offset, logEndOffset = the warehouse's).
   */
  readonly resets: readonly DetectedReset[];
}

export interface ExporterOptions {
  readonly pool: pg.Pool;
  readonly sink: LakeSink;
  /** The lake's identity in ingest.lake_export_* (default: the sink's location). */
  readonly lakeId?: string;
  /** Rows per Postgres page and per Delta commit (Bronze/Silver); rows per page for Gold. */
  readonly batchRows: number;
  readonly logger?: Logger;
  readonly onProgress?: (progress: ExportProgress) => void;
  /** Stops between batches when aborted (the batch in flight finishes). */
  readonly signal?: AbortSignal;
  /** How often a Gold export is planned again after losing to a concurrent exporter. Default 5. */
  readonly maxGoldAttempts?: number;
}

/**
 * Exports Bronze, Silver and Gold from Postgres to a lake, incrementally and idempotently. Each table's mode
 * picks the strategy:
 *
 * - Bronze/Silver ("offsets", incremental-offsets.ts): pages in (topic, partition, offset) order from each
 *   partition's next offset; each page is one commit carrying a token per partition (appId
 *   "adpipe-export/<topic>/<partition>", version = next offset). The Delta log is the source of truth;
 *   ingest.lake_export_offsets mirrors it and is written after each commit. A crash between the two is repaired
 *   at the next start (stream-positions.ts); a commit another exporter made first is detected by the tokens
 *   (the batch is dropped, nothing is duplicated).
 * - Gold ("day-snapshot", day-snapshots.ts): days whose content fingerprint differs from the one stored with their
 *   Delta files are rewritten (remove + add in one commit), read in one REPEATABLE READ snapshot.
 * - `full`: the whole table is re-read in one snapshot and replaces the lake table in one commit
 *   (full-offsets.ts for Bronze/Silver).
 */
export class DeltaExporter {
  readonly lakeId: string;
  private readonly logger: Logger;
  private readonly run: ExportRun;

  constructor(private readonly options: ExporterOptions) {
    if (!Number.isSafeInteger(options.batchRows) || options.batchRows < 1) {
      throw new LakeError("invalid_config", "batchRows must be a positive integer");
    }
    this.lakeId = options.lakeId ?? options.sink.location;
    this.logger = options.logger ?? silentLogger;
    this.run = {
      pool: options.pool,
      lakeId: this.lakeId,
      batchRows: options.batchRows,
      logger: this.logger,
      onProgress: options.onProgress,
      maxGoldAttempts: options.maxGoldAttempts ?? 5,
      stopped: () => options.signal?.aborted === true,
    };
  }

  async exportTables(
    keys: readonly ExportTableKey[],
    options: { full?: boolean } = {},
  ): Promise<TableExportReport[]> {
    const reports: TableExportReport[] = [];
    for (const key of keys) {
      if (this.run.stopped()) break;
      reports.push(await this.exportTable(key, options));
    }
    return reports;
  }

  async exportTable(key: ExportTableKey, options: { full?: boolean } = {}): Promise<TableExportReport> {
    const table = EXPORT_TABLES[key];
    const started = Date.now();
    const writer = this.options.sink.table(table.spec);
    const counters: Counters = {
      commits: 0,
      rows: 0,
      files: 0,
      bytes: 0,
      superseded: 0,
      conflicts: 0,
      recovered: 0,
      version: -1,
    };
    counters.version = await writer.create();
    const full = options.full === true;
    const outcome: { caughtUp: boolean; lagRecords: number | null; resets?: DetectedReset[] } =
      table.mode === "offsets"
        ? full
          ? await exportAllOffsets(this.run, table, writer, counters)
          : await exportNewOffsets(this.run, table, writer, counters)
        : await exportChangedDays(this.run, table, writer, counters, full);
    const report: TableExportReport = {
      table: key,
      full,
      ...counters,
      caughtUp: outcome.caughtUp,
      lagRecords: outcome.lagRecords,
      durationMs: Date.now() - started,
      resets: outcome.resets ?? [],
    };
    this.logger.info({ ...report, lake: this.lakeId }, "lake export pass finished");
    return report;
  }
}
