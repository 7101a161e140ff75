import { setTimeout as sleep } from "node:timers/promises";
import { type ReconcileReport, reconcileWithWarehouse } from "@adpipe/store-sync";
import { type Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit-codes.js";
import { withSpendStore } from "./rebuild-redis.js";
import { withWarehouse } from "./warehouse-support.js";

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError("expected milliseconds (a whole number >= 0)");
  return n;
}

function describe(report: ReconcileReport): string[] {
  const lines = [
    `period ${report.period.id}: ${report.advertisers} advertisers, ${report.mismatched.length} differ`,
    `|redis - postgres|: net ${report.netAbsDiffMicros} micros, gross ${report.grossAbsDiffMicros} micros, clicks ${report.clicksAbsDiff}, ` +
      `over_cap ${report.overCapAbsDiffMicros} micros`,
  ];
  if (report.offsetsApart > 0) {
    lines.push(
      `the tracker and the ingestor stand ${report.offsetsApart} records apart: differences may be in flight`,
    );
  }
  for (const d of report.mismatched.slice(0, 20)) {
    const budget = d.budgetDiffers
      ? `, budget redis ${d.redis.budgetMicros} (${d.redis.budgetSource ?? "no source"}) vs postgres ${d.warehouse.budgetMicros} (${d.warehouse.budgetSource ?? "no source"})`
      : "";
    const mode = d.modeDiffers ? `, mode redis ${d.redis.mode} vs postgres ${d.warehouse.mode}` : "";
    lines.push(
      `  ${d.advertiserId}: net ${d.netDiffMicros >= 0 ? "+" : ""}${d.netDiffMicros}, gross ${d.grossDiffMicros}, ` +
        `clicks ${d.clicksDiff}, over_cap ${d.overCapDiffMicros}${budget}${mode}`,
    );
  }
  if (report.mismatched.length > 20) lines.push(`  ... and ${report.mismatched.length - 20} more`);
  return lines;
}

/**
 * `adpipe reconcile`: compares Redis period spend (what ad servers act on) with Postgres for the current budget
 * period. Exit 0 when equal, 1 when they differ. While the two pipelines stand at different offsets the
 * comparison is retried (up to --wait), since records in flight make them differ for a moment.
 */
export function register(program: Command): void {
  program
    .command("reconcile")
    .description(
      "Compare Redis period spend (net, gross, clicks, over_cap), budget and mode with Postgres for the current " +
        "budget period; exit 1 on a difference",
    )
    .option(
      "--wait <ms>",
      "retry while the tracker and the ingestor are at different offsets",
      parseMs,
      10_000,
    )
    .option("--json", "print the report as JSON")
    .action(async (options: { wait: number; json?: boolean }) => {
      await withSpendStore((store, env) =>
        withWarehouse(async (pool) => {
          const deadline = Date.now() + options.wait;
          let report = await reconcileWithWarehouse(store, pool, { pipeline: env.store.WAREHOUSE_PIPELINE });
          while (report.offsetsApart > 0 && Date.now() < deadline) {
            await sleep(500);
            report = await reconcileWithWarehouse(store, pool, { pipeline: env.store.WAREHOUSE_PIPELINE });
          }
          if (options.json === true) console.log(JSON.stringify(report));
          else for (const line of describe(report)) console.log(line);
          if (report.mismatched.length > 0) process.exitCode = EXIT.failed;
        }),
      );
    });
}
