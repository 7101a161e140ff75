import { checkPosition, type DetectedReset, generationTopic } from "@adpipe/core";
import type pg from "pg";
import { serializePartitionValue } from "../delta/partitions.js";
import type { Column, Row } from "../delta/schema.js";
import { formatTimestampIso } from "../delta/values.js";
import { isLakeError, LakeError } from "../errors.js";
import type { CommitResult, IdempotencyToken, LakeSink, StagedFiles, TableWriter } from "../lake.js";
import { type LakeLogger, silentLakeLogger } from "../logger.js";
import { lakeQuery } from "./queries.js";
import { EXPORT_TABLES, type ExportTable, type ExportTableKey, lakeRow } from "./tables.js";

/** appId prefix of the export's idempotency tokens (Delta txn actions). */
export const TOKEN_PREFIX = "adpipe-export/";
export const GOLD_TOKEN = `${TOKEN_PREFIX}gold`;
/** Delta add.tags key holding a Gold day's content fingerprint. */
export const FINGERPRINT_TAG = "adpipe.fingerprint";

/**
 * The Delta txn appId of one exported stream: a partition of a topic's generation (generation 0 keeps the name
 * it always had; a recreated topic's new log is `<topic>#g<n>`, a stream of its own starting at offset 0).
 */
export function streamToken(topic: string, partition: number, generation = 0): string {
  return `${TOKEN_PREFIX}${generationTopic(topic, generation)}/${partition}`;
}

export interface ExportProgress {
  readonly table: ExportTableKey;
  /** Rows exported by this run so far. */
  readonly rows: number;
  /** Estimate of the rows this run will export in all (Kafka records behind for Bronze/Silver; rows of changed days for Gold). */
  readonly total: number;
  readonly version: number;
}

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
  readonly logger?: LakeLogger;
  readonly onProgress?: (progress: ExportProgress) => void;
  /** Stops between batches when aborted (the batch in flight finishes). */
  readonly signal?: AbortSignal;
  /** How often a Gold export is planned again after losing to a concurrent exporter. Default 5. */
  readonly maxGoldAttempts?: number;
}

interface Position {
  readonly topic: string;
  readonly partition: number;
  /** Generation of the topic's log (a recreated topic is a new stream). */
  readonly generation: number;
  next: number;
  /** Whether the Delta log holds a token for this partition (the precondition of the next commit). */
  inDelta: boolean;
}

interface Counters {
  commits: number;
  rows: number;
  files: number;
  bytes: number;
  superseded: number;
  conflicts: number;
  recovered: number;
  version: number;
}

const streamKey = (topic: string, partition: number, generation: number): string =>
  `${topic}\u0000${generation}\u0000${partition}`;

function safeOffset(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new LakeError("export_failed", `offset out of range: ${text}`);
  return n;
}

/**
 * Exports Bronze, Silver and Gold from Postgres to a lake, incrementally and idempotently:
 *
 * - Bronze/Silver ("offsets"): pages in (topic, partition, offset) order from each partition's next offset;
 *   each page is one commit carrying a token per partition (appId "adpipe-export/<topic>/<partition>",
 *   version = next offset). The Delta log is the source of truth; ingest.lake_export_offsets mirrors it and is
 *   written after each commit. A crash between the two is repaired at the next start; a commit another exporter
 *   made first is detected by the tokens (the batch is dropped, nothing is duplicated).
 * - Gold ("day-snapshot"): days whose content fingerprint differs from the one stored with their Delta files
 *   are rewritten (remove + add in one commit), read in one REPEATABLE READ snapshot.
 * - `full`: the whole table is re-read in one snapshot and replaces the lake table in one commit.
 */
export class DeltaExporter {
  readonly lakeId: string;
  private readonly logger: LakeLogger;

  constructor(private readonly options: ExporterOptions) {
    if (!Number.isSafeInteger(options.batchRows) || options.batchRows < 1) {
      throw new LakeError("invalid_config", "batchRows must be a positive integer");
    }
    this.lakeId = options.lakeId ?? options.sink.location;
    this.logger = options.logger ?? silentLakeLogger;
  }

  private get stopped(): boolean {
    return this.options.signal?.aborted === true;
  }

  async exportTables(
    keys: readonly ExportTableKey[],
    options: { full?: boolean } = {},
  ): Promise<TableExportReport[]> {
    const reports: TableExportReport[] = [];
    for (const key of keys) {
      if (this.stopped) break;
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
          ? await this.fullOffsets(table, writer, counters)
          : await this.incrementalOffsets(table, writer, counters)
        : await this.daySnapshots(table, writer, counters, full);
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

  private async recordTable(
    table: ExportTable,
    counters: Counters,
    sequence: number,
    rowsAdded: number,
    committed: boolean,
    caughtUp: boolean,
  ): Promise<void> {
    await this.options.pool.query(
      lakeQuery("lake_table_record", [
        this.lakeId,
        table.key,
        counters.version,
        sequence,
        rowsAdded,
        committed,
        caughtUp,
      ]),
    );
  }

  private async recordOffsets(
    table: ExportTable,
    positions: readonly Position[],
    version: number,
  ): Promise<void> {
    if (positions.length === 0) return;
    await this.options.pool.query(
      lakeQuery("lake_offsets_record", [
        this.lakeId,
        table.key,
        positions.map((p) => p.topic),
        positions.map((p) => p.partition),
        positions.map((p) => p.next),
        version,
        positions.map((p) => p.generation),
      ]),
    );
  }

  /** Partitions to export: every one the warehouse ingested, with the exported position from the Delta log. */
  private async positions(
    table: ExportTable,
    writer: TableWriter,
    counters: Counters,
    client: pg.Pool | pg.PoolClient = this.options.pool,
  ): Promise<{ positions: Map<string, Position>; ends: Map<string, number>; resets: DetectedReset[] }> {
    const tokens = await writer.tokens();
    const { rows: streams } = await client.query<{
      topic: string;
      generation: number;
      partition: number;
      end_offset: string;
      current: boolean;
    }>(lakeQuery("export_streams", []));
    const { rows: recorded } = await this.options.pool.query<{
      topic: string;
      generation: number;
      partition: number;
      next_offset: string;
    }>(lakeQuery("lake_offsets_read", [this.lakeId, table.key]));
    const positions = new Map<string, Position>();
    const ends = new Map<string, number>();
    const add = (topic: string, partition: number, generation: number) => {
      const key = streamKey(topic, partition, generation);
      if (positions.has(key)) return;
      const token = tokens.get(streamToken(topic, partition, generation));
      positions.set(key, { topic, partition, generation, next: token ?? 0, inDelta: token !== undefined });
    };
    for (const stream of streams) {
      add(stream.topic, stream.partition, stream.generation);
      ends.set(streamKey(stream.topic, stream.partition, stream.generation), safeOffset(stream.end_offset));
    }
    for (const row of recorded) add(row.topic, row.partition, row.generation);
    // The lake ahead of the warehouse in the generation it consumes: the warehouse's positions were moved back
    // under the lake (restored from a backup, edited by hand). Rows written at offsets below the lake's position
    // would never be exported: refuse the topic until `adpipe offsets reset` starts a new generation.
    const resets: DetectedReset[] = [];
    for (const stream of streams) {
      if (!stream.current) continue;
      const position = positions.get(streamKey(stream.topic, stream.partition, stream.generation));
      if (position === undefined || !position.inDelta) continue;
      const end = BigInt(stream.end_offset);
      const check = checkPosition(BigInt(position.next), { start: 0n, end });
      if (check.status === "reset") {
        resets.push({
          topic: stream.topic,
          partition: stream.partition,
          storedOffset: BigInt(position.next),
          logStartOffset: 0n,
          logEndOffset: end,
          reason: check.reason,
          generation: stream.generation,
        });
      }
    }
    // Postgres mirrors the Delta log; a difference means a crash between a commit and its record (or a lake
    // that was reset). The Delta log wins.
    const differing: Position[] = [];
    const recordedBy = new Map(
      recorded.map((row) => [
        streamKey(row.topic, row.partition, row.generation),
        safeOffset(row.next_offset),
      ]),
    );
    for (const [key, position] of positions) {
      const inPostgres = recordedBy.get(key);
      if (inPostgres !== undefined && inPostgres !== position.next) differing.push(position);
      else if (inPostgres === undefined && position.inDelta) differing.push(position);
    }
    if (differing.length > 0) {
      counters.recovered += differing.length;
      this.logger.warn(
        {
          table: table.key,
          partitions: differing.map(
            (p) => `${generationTopic(p.topic, p.generation)}/${p.partition}@${p.next}`,
          ),
        },
        "export progress in Postgres differed from the Delta log (crash between commit and record); adopted the log's",
      );
      await this.recordOffsets(table, differing, counters.version);
    }
    return { positions, ends, resets };
  }

  private static lag(positions: Map<string, Position>, ends: Map<string, number>): number {
    let lag = 0;
    for (const [key, end] of ends) lag += Math.max(0, end - (positions.get(key)?.next ?? 0));
    return lag;
  }

  private async page(
    client: pg.Pool | pg.PoolClient,
    table: ExportTable,
    positions: Iterable<Position>,
  ): Promise<Record<string, never>[]> {
    const list = [...positions];
    const { rows } = await client.query<Record<string, never>>(
      lakeQuery(table.pageQuery, [
        list.map((p) => p.topic),
        list.map((p) => p.partition),
        list.map((p) => p.next),
        this.options.batchRows,
        list.map((p) => p.generation),
      ]),
    );
    return rows;
  }

  /** The next offset of each partition a page reached. */
  private static advanced(
    rows: readonly Record<string, unknown>[],
  ): Map<string, { topic: string; partition: number; generation: number; next: number }> {
    const out = new Map<string, { topic: string; partition: number; generation: number; next: number }>();
    for (const row of rows) {
      const topic = row.topic as string;
      const partition = row.partition as number;
      const generation = row.topic_generation as number;
      const next = safeOffset(row.offset as string) + 1;
      const key = streamKey(topic, partition, generation);
      const current = out.get(key);
      if (current === undefined || next > current.next) out.set(key, { topic, partition, generation, next });
    }
    return out;
  }

  private async incrementalOffsets(
    table: ExportTable,
    writer: TableWriter,
    counters: Counters,
  ): Promise<{ caughtUp: boolean; lagRecords: number; resets: DetectedReset[] }> {
    const { positions, ends, resets } = await this.positions(table, writer, counters);
    const total = DeltaExporter.lag(positions, ends);
    const refused = new Set(resets.map((r) => r.topic));
    const exportable = () => [...positions.values()].filter((p) => !refused.has(p.topic));
    let caughtUp = false;
    while (!this.stopped) {
      const rows = await this.page(this.options.pool, table, exportable());
      if (rows.length === 0) {
        caughtUp = true;
        break;
      }
      const lakeRows = rows.map((row) => lakeRow(table.spec.columns, row));
      const advanced = DeltaExporter.advanced(rows);
      const tokens: IdempotencyToken[] = [];
      const expected = new Map<string, number | null>();
      for (const [key, stream] of advanced) {
        const position = positions.get(key);
        const appId = streamToken(stream.topic, stream.partition, stream.generation);
        tokens.push({ appId, version: stream.next });
        expected.set(appId, position?.inDelta === true ? position.next : null);
      }
      const result = await writer.append(lakeRows, {
        tokens,
        expectedTokens: expected,
        operation: "WRITE",
        operationParameters: { source: table.source, exporter: "adpipe" },
      });
      if (result.outcome === "committed") {
        this.count(counters, result);
        const moved: Position[] = [];
        for (const [key, stream] of advanced) {
          const position = positions.get(key) ?? {
            topic: stream.topic,
            partition: stream.partition,
            generation: stream.generation,
            next: 0,
            inDelta: false,
          };
          position.next = stream.next;
          position.inDelta = true;
          positions.set(key, position);
          moved.push(position);
        }
        await this.recordOffsets(table, moved, result.version);
        await this.recordTable(table, counters, 0, result.rows, true, false);
      } else {
        // Another exporter committed these offsets first: adopt its progress and carry on from there.
        counters.superseded++;
        counters.version = result.version;
        const tokensNow = await writer.tokens();
        const moved: Position[] = [];
        for (const position of positions.values()) {
          const token = tokensNow.get(streamToken(position.topic, position.partition, position.generation));
          if (token !== undefined && (token !== position.next || !position.inDelta)) {
            position.next = token;
            position.inDelta = true;
            moved.push(position);
          }
        }
        await this.recordOffsets(table, moved, result.version);
        this.logger.info(
          { table: table.key, version: result.version },
          "batch already exported by another exporter",
        );
      }
      this.options.onProgress?.({ table: table.key, rows: counters.rows, total, version: counters.version });
      if (rows.length < this.options.batchRows) {
        caughtUp = true;
        break;
      }
    }
    await this.recordTable(table, counters, 0, 0, false, caughtUp && resets.length === 0);
    return { caughtUp, lagRecords: DeltaExporter.lag(positions, ends), resets };
  }

  private count(counters: Counters, result: Extract<CommitResult, { outcome: "committed" }>): void {
    counters.commits++;
    counters.rows += result.rows;
    counters.files += result.addedFiles;
    counters.bytes += result.bytes;
    counters.version = result.version;
  }

  /** Runs `work` in one read-only REPEATABLE READ transaction (one consistent snapshot of Postgres). */
  private async inSnapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.options.pool.connect();
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

  private async fullOffsets(
    table: ExportTable,
    writer: TableWriter,
    counters: Counters,
  ): Promise<{ caughtUp: boolean; lagRecords: number }> {
    const staged: StagedFiles[] = [];
    let positions = new Map<string, Position>();
    try {
      const snapshot = await this.inSnapshot(async (client) => {
        const { positions: known, ends } = await this.positions(table, writer, counters, client);
        // Start every partition from 0: the rebuild reads everything in this one snapshot.
        for (const position of known.values()) position.next = 0;
        const total = [...ends.values()].reduce((a, b) => a + b, 0);
        let rowsStaged = 0;
        for (;;) {
          const rows = await this.page(client, table, known.values());
          if (rows.length === 0) break;
          staged.push(await writer.stage(rows.map((row) => lakeRow(table.spec.columns, row))));
          for (const [key, stream] of DeltaExporter.advanced(rows)) {
            const position = known.get(key);
            if (position !== undefined) position.next = stream.next;
          }
          rowsStaged += rows.length;
          this.options.onProgress?.({ table: table.key, rows: rowsStaged, total, version: counters.version });
          if (rows.length < this.options.batchRows) break;
        }
        return { known, ends };
      });
      positions = snapshot.known;
      const result = await writer.commit(staged, {
        replace: "table",
        tokens: [...positions.values()].map((p) => ({
          appId: streamToken(p.topic, p.partition, p.generation),
          version: p.next,
        })),
        operation: "WRITE",
        operationParameters: { source: table.source, exporter: "adpipe", rebuild: "true" },
      });
      if (result.outcome !== "committed")
        throw new LakeError("export_failed", "a table rebuild was not committed");
      this.count(counters, result);
      for (const position of positions.values()) position.inDelta = true;
      await this.recordOffsets(table, [...positions.values()], result.version);
      await this.recordTable(table, counters, 0, result.rows, true, true);
      return { caughtUp: true, lagRecords: DeltaExporter.lag(positions, snapshot.ends) };
    } catch (error) {
      await writer.discard(staged);
      throw error;
    }
  }

  private async daySnapshots(
    table: ExportTable,
    writer: TableWriter,
    counters: Counters,
    full: boolean,
  ): Promise<{ caughtUp: boolean; lagRecords: null }> {
    const dayColumn: Column = table.spec.columns.find((column) => column.name === "spend_day")!;
    const maxAttempts = this.options.maxGoldAttempts ?? 5;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.stopped) return { caughtUp: false, lagRecords: null };
      const staged: StagedFiles[] = [];
      try {
        const plan = await this.inSnapshot(async (client) => {
          const { rows: days } = await client.query<{ spend_day: string; rows: string; fingerprint: string }>(
            lakeQuery("export_gold_fingerprints", []),
          );
          const readVersion = await writer.version();
          const files = await writer.files();
          const token = (await writer.tokens()).get(GOLD_TOKEN) ?? null;
          const inLake = new Map<string, Set<string>>();
          for (const file of files) {
            const day = file.partitionValues.spend_day ?? "";
            const set = inLake.get(day) ?? new Set<string>();
            set.add(file.tags[FINGERPRINT_TAG] ?? "");
            inLake.set(day, set);
          }
          const inPostgres = new Map(
            days.map((d) => [serializePartitionValue(dayColumn, BigInt(d.spend_day)) ?? "", d] as const),
          );
          const changed = days.filter((d) => {
            if (full) return true;
            const lake = inLake.get(serializePartitionValue(dayColumn, BigInt(d.spend_day)) ?? "");
            return lake === undefined || lake.size !== 1 || !lake.has(d.fingerprint);
          });
          const vanished = [...inLake.keys()].filter((day) => !inPostgres.has(day));
          if (!full && changed.length === 0 && vanished.length === 0) return null;
          const total = changed.reduce((sum, d) => sum + Number(d.rows), 0);
          let rowsStaged = 0;
          for (const day of changed) {
            const dayIso = formatTimestampIso(BigInt(day.spend_day));
            let after: { advertiserId: string; windowStart: string } | null = null;
            for (;;) {
              const { rows } = await client.query<Record<string, never>>(
                lakeQuery("export_gold_page", [
                  dayIso,
                  after?.advertiserId ?? null,
                  after?.windowStart ?? null,
                  this.options.batchRows,
                ]),
              );
              if (rows.length === 0) break;
              const lakeRows: Row[] = rows.map((row) => lakeRow(table.spec.columns, row));
              staged.push(await writer.stage(lakeRows, { tags: { [FINGERPRINT_TAG]: day.fingerprint } }));
              const last = rows[rows.length - 1] as Record<string, string>;
              after = {
                advertiserId: last.advertiser_id as string,
                windowStart: formatTimestampIso(BigInt(last.window_start as string)),
              };
              rowsStaged += rows.length;
              this.options.onProgress?.({ table: table.key, rows: rowsStaged, total, version: readVersion });
              if (rows.length < this.options.batchRows) break;
            }
          }
          const partitions = [
            ...changed.map((d) => ({ spend_day: serializePartitionValue(dayColumn, BigInt(d.spend_day)) })),
            ...vanished.map((day) => ({ spend_day: day === "" ? null : day })),
          ];
          return { readVersion, token, partitions };
        });
        if (plan === null) {
          await this.recordTable(
            table,
            counters,
            (await writer.tokens()).get(GOLD_TOKEN) ?? 0,
            0,
            false,
            true,
          );
          return { caughtUp: true, lagRecords: null };
        }
        const sequence = (plan.token ?? 0) + 1;
        const result = await writer.commit(staged, {
          ...(full ? { replace: "table" as const } : { replace: { partitions: plan.partitions } }),
          readVersion: plan.readVersion,
          tokens: [{ appId: GOLD_TOKEN, version: sequence }],
          expectedTokens: new Map([[GOLD_TOKEN, plan.token]]),
          operation: full ? "WRITE" : "REPLACE PARTITIONS",
          operationParameters: {
            source: table.source,
            exporter: "adpipe",
            partitions: String(plan.partitions.length),
          },
        });
        if (result.outcome === "superseded") {
          counters.superseded++;
          await writer.discard(staged);
          continue;
        }
        this.count(counters, result);
        await this.recordTable(table, counters, sequence, result.rows, true, true);
        return { caughtUp: true, lagRecords: null };
      } catch (error) {
        await writer.discard(staged);
        if (isLakeError(error) && error.code === "commit_conflict" && attempt < maxAttempts) {
          counters.conflicts++;
          continue;
        }
        throw error;
      }
    }
    throw new LakeError(
      "commit_retries_exhausted",
      `gold export lost to concurrent exporters ${maxAttempts} times`,
    );
  }
}
