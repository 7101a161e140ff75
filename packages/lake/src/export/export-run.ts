import type { Logger } from "@adpipe/telemetry";
import type pg from "pg";
import type { CommitResult } from "../lake.js";
import { lakeQuery } from "./queries.js";
import type { ExportTable, ExportTableKey } from "./tables.js";

export interface ExportProgress {
  readonly table: ExportTableKey;
  /** Rows exported by this run so far. */
  readonly rows: number;
  /** Estimate of the rows this run will export in all (Kafka records behind for Bronze/Silver; rows of changed days for Gold). */
  readonly total: number;
  readonly version: number;
}

/** What every export strategy works with: the warehouse, the lake's identity, batch size, logging, stopping. */
export interface ExportRun {
  readonly pool: pg.Pool;
  /** The lake's identity in ingest.lake_export_*. */
  readonly lakeId: string;
  /** Rows per Postgres page and per Delta commit (Bronze/Silver); rows per page for Gold. */
  readonly batchRows: number;
  readonly logger: Logger;
  readonly onProgress: ((progress: ExportProgress) => void) | undefined;
  /** How often a Gold export is planned again after losing to a concurrent exporter. */
  readonly maxGoldAttempts: number;
  /** True once the caller asked to stop (checked between batches). */
  stopped(): boolean;
}

/** What one table's export did so far (the report's figures). */
export interface Counters {
  commits: number;
  rows: number;
  files: number;
  bytes: number;
  superseded: number;
  conflicts: number;
  recovered: number;
  version: number;
}

/** How a strategy's pass ended. */
export interface PassOutcome {
  readonly caughtUp: boolean;
  readonly lagRecords: number | null;
}

export function countCommit(
  counters: Counters,
  result: Extract<CommitResult, { outcome: "committed" }>,
): void {
  counters.commits++;
  counters.rows += result.rows;
  counters.files += result.addedFiles;
  counters.bytes += result.bytes;
  counters.version = result.version;
}

/** Records the table's Delta version, export sequence and rows in ingest.lake_export_tables. */
export async function recordTable(
  run: ExportRun,
  table: ExportTable,
  counters: Counters,
  sequence: number,
  rowsAdded: number,
  committed: boolean,
  caughtUp: boolean,
): Promise<void> {
  await run.pool.query(
    lakeQuery("lake_table_record", [
      run.lakeId,
      table.key,
      counters.version,
      sequence,
      rowsAdded,
      committed,
      caughtUp,
    ]),
  );
}

/** Runs `work` in one read-only REPEATABLE READ transaction (one consistent snapshot of Postgres). */
export async function inSnapshot<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
