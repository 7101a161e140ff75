import { applyRetention } from "@adpipe/warehouse";
import type { Command } from "commander";
import { parsePositiveInteger, rulesFromEnv, withWarehouse } from "./warehouse-support.js";

/** `adpipe retention`: drops old Bronze/Silver day partitions and prunes the click_id registry. */
export function register(program: Command): void {
  program
    .command("retention")
    .description(
      "Drop Bronze/Silver day partitions older than WAREHOUSE_RETENTION_DAYS and forget click_ids older than CLICK_DEDUP_HORIZON_DAYS",
    )
    .option("--days <n>", "retention in days (default: WAREHOUSE_RETENTION_DAYS, 35)", parsePositiveInteger)
    .option(
      "--dedup-horizon-days <n>",
      "dedup horizon in days (default: CLICK_DEDUP_HORIZON_DAYS, 8)",
      parsePositiveInteger,
    )
    .action(async (options: { days?: number; dedupHorizonDays?: number }) => {
      const rules = rulesFromEnv();
      await withWarehouse(async (pool) => {
        const result = await applyRetention(pool, {
          nowMs: Date.now(),
          retentionDays: options.days ?? rules.retentionDays,
          dedupHorizonDays: options.dedupHorizonDays ?? rules.dedupHorizonDays,
        });
        for (const name of result.droppedPartitions) console.log(`dropped ${name}`);
        console.log(
          `dropped ${result.droppedPartitions.length} partition(s), forgot ${result.prunedClickIds} click id(s)`,
        );
      });
    });
}
