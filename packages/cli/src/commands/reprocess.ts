import { reprocess } from "@adpipe/warehouse";
import type { Command } from "commander";
import { EXIT } from "../exit-codes.js";
import { progressReporter } from "./progress.js";
import {
  CommandFailure,
  parseInstant,
  parsePositiveInteger,
  rulesFromEnv,
  withWarehouse,
} from "./warehouse-support.js";

/** `adpipe reprocess --from --to`: rebuilds Silver and Gold from Bronze for a record-time range. */
export function register(program: Command): void {
  program
    .command("reprocess")
    .description(
      "Rebuild Silver and Gold from Bronze for records with Kafka time in [--from, --to), in one transaction; idempotent",
    )
    .requiredOption("--from <iso>", "start of the range (inclusive), ISO-8601 with zone", parseInstant)
    .requiredOption("--to <iso>", "end of the range (exclusive), ISO-8601 with zone", parseInstant)
    .option("--page-size <n>", "Bronze records per round trip", parsePositiveInteger, 5_000)
    .action(async (options: { from: number; to: number; pageSize: number }) => {
      if (options.from >= options.to) throw new CommandFailure("--from must be before --to", EXIT.usage);
      const rules = rulesFromEnv();
      await withWarehouse(async (pool) => {
        const progress = progressReporter(
          process.stderr,
          "reprocess",
          (done, total) => `${done}/${total} records`,
        );
        const started = Date.now();
        try {
          const result = await reprocess(pool, {
            fromMs: options.from,
            toMs: options.to,
            pageSize: options.pageSize,
            parseLimits: rules.parseLimits,
            ...(rules.budgetPeriod === undefined ? {} : { budgetPeriod: rules.budgetPeriod }),
            ...(rules.timeZone === undefined ? {} : { timeZone: rules.timeZone }),
            onProgress: progress.update,
          });
          progress.stop();
          console.log(
            `reprocessed ${result.records} Bronze records in ${((Date.now() - started) / 1_000).toFixed(1)} s: ` +
              `${result.goldRowsAdjusted} Gold rows adjusted, ${result.goldRowsDeleted} emptied rows deleted, ` +
              `${result.servingUpdates} serving decisions changed`,
          );
        } finally {
          progress.stop();
        }
      });
    });
}
