import { checkPosition, type DetectedReset, generationTopic } from "@adpipe/core";
import type pg from "pg";
import { LakeError } from "../errors.js";
import type { TableWriter } from "../lake.js";
import type { Counters, ExportRun } from "./export-run.js";
import { lakeQuery } from "./queries.js";
import type { ExportTable } from "./tables.js";
import { streamToken } from "./tokens.js";

/** Where the export of one stream (a partition of a topic's generation) stands. */
export interface Position {
  readonly topic: string;
  readonly partition: number;
  /** Generation of the topic's log (a recreated topic is a new stream). */
  readonly generation: number;
  next: number;
  /** Whether the Delta log holds a token for this partition (the precondition of the next commit). */
  inDelta: boolean;
}

export const streamKey = (topic: string, partition: number, generation: number): string =>
  `${topic}\u0000${generation}\u0000${partition}`;

export function safeOffset(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new LakeError("export_failed", `offset out of range: ${text}`);
  return n;
}

/** Mirrors positions into ingest.lake_export_offsets (the Delta log stays the source of truth). */
export async function recordOffsets(
  run: ExportRun,
  table: ExportTable,
  positions: readonly Position[],
  version: number,
): Promise<void> {
  if (positions.length === 0) return;
  await run.pool.query(
    lakeQuery("lake_offsets_record", [
      run.lakeId,
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
export async function readPositions(
  run: ExportRun,
  table: ExportTable,
  writer: TableWriter,
  counters: Counters,
  client: pg.Pool | pg.PoolClient = run.pool,
): Promise<{ positions: Map<string, Position>; ends: Map<string, number>; resets: DetectedReset[] }> {
  const tokens = await writer.tokens();
  const { rows: streams } = await client.query<{
    topic: string;
    generation: number;
    partition: number;
    end_offset: string;
    current: boolean;
  }>(lakeQuery("export_streams", []));
  const { rows: recorded } = await run.pool.query<{
    topic: string;
    generation: number;
    partition: number;
    next_offset: string;
  }>(lakeQuery("lake_offsets_read", [run.lakeId, table.key]));
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
    recorded.map((row) => [streamKey(row.topic, row.partition, row.generation), safeOffset(row.next_offset)]),
  );
  for (const [key, position] of positions) {
    const inPostgres = recordedBy.get(key);
    if (inPostgres !== undefined && inPostgres !== position.next) differing.push(position);
    else if (inPostgres === undefined && position.inDelta) differing.push(position);
  }
  if (differing.length > 0) {
    counters.recovered += differing.length;
    run.logger.warn(
      {
        table: table.key,
        partitions: differing.map(
          (p) => `${generationTopic(p.topic, p.generation)}/${p.partition}@${p.next}`,
        ),
      },
      "export progress in Postgres differed from the Delta log (crash between commit and record); adopted the log's",
    );
    await recordOffsets(run, table, differing, counters.version);
  }
  return { positions, ends, resets };
}

/** Records ingested but not yet exported, summed over the streams. */
export function streamLag(positions: Map<string, Position>, ends: Map<string, number>): number {
  let lag = 0;
  for (const [key, end] of ends) lag += Math.max(0, end - (positions.get(key)?.next ?? 0));
  return lag;
}

/** The next page of the table's rows from each position on (`table.pageQuery`, at most batchRows). */
export async function readPage(
  run: ExportRun,
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
      run.batchRows,
      list.map((p) => p.generation),
    ]),
  );
  return rows;
}

/** The next offset of each partition a page reached. */
export function advancedStreams(
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
