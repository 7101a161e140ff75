import { LakeError } from "../errors.js";
import type { StagedFiles, TableWriter } from "../lake.js";
import { type Counters, countCommit, type ExportRun, inSnapshot, recordTable } from "./export-run.js";
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
 * Bronze/Silver rebuilt (`full`): the whole table is re-read in one snapshot and replaces the lake table in one
 * commit, with every stream's token set to where the snapshot ended.
 */
export async function exportAllOffsets(
  run: ExportRun,
  table: ExportTable,
  writer: TableWriter,
  counters: Counters,
): Promise<{ caughtUp: boolean; lagRecords: number }> {
  const staged: StagedFiles[] = [];
  let positions = new Map<string, Position>();
  try {
    const snapshot = await inSnapshot(run.pool, async (client) => {
      const { positions: known, ends } = await readPositions(run, table, writer, counters, client);
      // Start every partition from 0: the rebuild reads everything in this one snapshot.
      for (const position of known.values()) position.next = 0;
      const total = [...ends.values()].reduce((a, b) => a + b, 0);
      let rowsStaged = 0;
      for (;;) {
        const rows = await readPage(run, client, table, known.values());
        if (rows.length === 0) break;
        staged.push(await writer.stage(rows.map((row) => lakeRow(table.spec.columns, row))));
        for (const [key, stream] of advancedStreams(rows)) {
          const position = known.get(key);
          if (position !== undefined) position.next = stream.next;
        }
        rowsStaged += rows.length;
        run.onProgress?.({ table: table.key, rows: rowsStaged, total, version: counters.version });
        if (rows.length < run.batchRows) break;
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
    countCommit(counters, result);
    for (const position of positions.values()) position.inDelta = true;
    await recordOffsets(run, table, [...positions.values()], result.version);
    await recordTable(run, table, counters, 0, result.rows, true, true);
    return { caughtUp: true, lagRecords: streamLag(positions, snapshot.ends) };
  } catch (error) {
    await writer.discard(staged);
    throw error;
  }
}
