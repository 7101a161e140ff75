import type { DetectedReset } from "@adpipe/core";
import type { IdempotencyToken, TableWriter } from "../lake.js";
import { type Counters, countCommit, type ExportRun, recordTable } from "./export-run.js";
import {
  advancedStreams,
  type Position,
  readPage,
  readPositions,
  recordOffsets,
  streamLag,
} from "./stream-positions.js";
import { type ExportTable, lakeRow } from "./tables.js";
import { streamToken } from "./tokens.js";

/**
 * Bronze/Silver, incrementally: pages in (topic, partition, offset) order from each partition's next offset; each
 * page is one commit carrying a token per partition (version = next offset). A commit another exporter made
 * first is detected by the tokens: the batch is dropped and its progress adopted, nothing is duplicated.
 */
export async function exportNewOffsets(
  run: ExportRun,
  table: ExportTable,
  writer: TableWriter,
  counters: Counters,
): Promise<{ caughtUp: boolean; lagRecords: number; resets: DetectedReset[] }> {
  const { positions, ends, resets } = await readPositions(run, table, writer, counters);
  const total = streamLag(positions, ends);
  const refused = new Set(resets.map((r) => r.topic));
  const exportable = () => [...positions.values()].filter((p) => !refused.has(p.topic));
  let caughtUp = false;
  while (!run.stopped()) {
    const rows = await readPage(run, run.pool, table, exportable());
    if (rows.length === 0) {
      caughtUp = true;
      break;
    }
    const lakeRows = rows.map((row) => lakeRow(table.spec.columns, row));
    const advanced = advancedStreams(rows);
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
      countCommit(counters, result);
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
      await recordOffsets(run, table, moved, result.version);
      await recordTable(run, table, counters, 0, result.rows, true, false);
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
      await recordOffsets(run, table, moved, result.version);
      run.logger.info(
        { table: table.key, version: result.version },
        "batch already exported by another exporter",
      );
    }
    run.onProgress?.({ table: table.key, rows: counters.rows, total, version: counters.version });
    if (rows.length < run.batchRows) {
      caughtUp = true;
      break;
    }
  }
  await recordTable(run, table, counters, 0, 0, false, caughtUp && resets.length === 0);
  return { caughtUp, lagRecords: streamLag(positions, ends), resets };
}
