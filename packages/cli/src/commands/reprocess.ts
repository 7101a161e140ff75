import { reprocess } from "@adpipe/warehouse";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { EXIT } from "../exit-codes.js";
import {
  CommandFailure,
  parseInstant,
  parsePositiveInteger,
  rulesFromEnv,
  withWarehouse,
} from "./warehouse-support.js";

/** Progress on a terminal: a bar; otherwise (logs, CI): a plain line every 10 %. */
function progressReporter(stream: NodeJS.WriteStream): {
  update: (progress: { done: number; total: number }) => void;
  stop: () => void;
} {
  if (stream.isTTY === true) {
    const bar = new SingleBar(
      { format: "reprocess [{bar}] {percentage}% | {value}/{total} records | {duration_formatted}", stream },
      undefined,
    );
    let started = false;
    return {
      update: ({ done, total }) => {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done);
        }
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update: ({ done, total }) => {
      const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`reprocess: ${done}/${total} records (${Math.min(100, decile * 10)}%)\n`);
      }
    },
    stop: () => undefined,
  };
}

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
        const progress = progressReporter(process.stderr);
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
