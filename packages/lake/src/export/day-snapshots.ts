import { serializePartitionValue } from "../delta/partitions.js";
import type { Column, Row } from "../delta/schema.js";
import { formatTimestampIso } from "../delta/values.js";
import { isLakeError, LakeError } from "../errors.js";
import type { StagedFiles, TableWriter } from "../lake.js";
import { type Counters, countCommit, type ExportRun, inSnapshot, recordTable } from "./export-run.js";
import { lakeQuery } from "./queries.js";
import { type ExportTable, lakeRow } from "./tables.js";
import { FINGERPRINT_TAG, GOLD_TOKEN } from "./tokens.js";

/**
 * Gold, by day: the days whose content fingerprint differs from the one stored with their Delta files (and days
 * gone from Postgres) are rewritten, remove + add in one commit, read in one REPEATABLE READ snapshot. `full`
 * rewrites every day and replaces the whole table. A commit that lost to a concurrent exporter is planned again.
 */
export async function exportChangedDays(
  run: ExportRun,
  table: ExportTable,
  writer: TableWriter,
  counters: Counters,
  full: boolean,
): Promise<{ caughtUp: boolean; lagRecords: null }> {
  const dayColumn: Column = table.spec.columns.find((column) => column.name === "spend_day")!;
  const maxAttempts = run.maxGoldAttempts;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (run.stopped()) return { caughtUp: false, lagRecords: null };
    const staged: StagedFiles[] = [];
    try {
      const plan = await inSnapshot(run.pool, async (client) => {
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
                run.batchRows,
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
            run.onProgress?.({ table: table.key, rows: rowsStaged, total, version: readVersion });
            if (rows.length < run.batchRows) break;
          }
        }
        const partitions = [
          ...changed.map((d) => ({ spend_day: serializePartitionValue(dayColumn, BigInt(d.spend_day)) })),
          ...vanished.map((day) => ({ spend_day: day === "" ? null : day })),
        ];
        return { readVersion, token, partitions };
      });
      if (plan === null) {
        await recordTable(run, table, counters, (await writer.tokens()).get(GOLD_TOKEN) ?? 0, 0, false, true);
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
      countCommit(counters, result);
      await recordTable(run, table, counters, sequence, result.rows, true, true);
      return { caughtUp: true, lagRecords: null };
    } catch (error) {
      await writer.discard(staged);
      if (isLakeError(error) && error.code === "ADP_LAKE_COMMIT_CONFLICT" && attempt < maxAttempts) {
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
