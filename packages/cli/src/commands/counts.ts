import { type HourlyCounts, hourlyCounts } from "@adpipe/warehouse";
import type { Command } from "commander";
import { EXIT } from "../exit-codes.js";
import { CommandFailure, parseInstant, withWarehouse } from "./warehouse-support.js";

const COLUMNS = [
  "hour (UTC)",
  "bronze",
  "rejected",
  "silver",
  "dups",
  "silver clicks",
  "gold clicks",
  "gold rows",
];

function formatRow(row: HourlyCounts): string[] {
  return [
    new Date(row.hourMs).toISOString().slice(0, 13).replace("T", " "),
    String(row.bronze),
    String(row.rejected),
    String(row.silver),
    String(row.duplicates),
    String(row.silverClicks),
    String(row.goldClicks),
    String(row.goldRows),
  ];
}

/** `adpipe counts --from --to`: per-hour row counts per layer, flagging hours that do not add up. */
export function register(program: Command): void {
  program
    .command("counts")
    .description(
      "Per-hour row counts of Bronze/Silver (by Kafka record time) and Silver/Gold clicks (by event time); exit 1 on gaps",
    )
    .requiredOption("--from <iso>", "first hour (inclusive), ISO-8601 with zone", parseInstant)
    .requiredOption("--to <iso>", "end (exclusive), ISO-8601 with zone", parseInstant)
    .option("--json", "print JSON lines instead of a table")
    .option("--only-problems", "print only hours that do not add up")
    .action(async (options: { from: number; to: number; json?: boolean; onlyProblems?: boolean }) => {
      if (options.from >= options.to) throw new CommandFailure("--from must be before --to", EXIT.usage);
      await withWarehouse(async (pool) => {
        const rows = await hourlyCounts(pool, { fromMs: options.from, toMs: options.to });
        const shown = options.onlyProblems === true ? rows.filter((row) => row.problems.length > 0) : rows;
        if (options.json === true) {
          for (const row of shown)
            console.log(JSON.stringify({ ...row, hour: new Date(row.hourMs).toISOString() }));
        } else {
          const table = [COLUMNS, ...shown.map(formatRow)];
          const widths = COLUMNS.map((_, i) => Math.max(...table.map((cells) => (cells[i] ?? "").length)));
          for (const [index, cells] of table.entries()) {
            const line = cells
              .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
              .join("  ");
            const problems = index === 0 ? "" : (shown[index - 1]?.problems ?? []).join("; ");
            console.log(problems === "" ? line : `${line}  <- ${problems}`);
          }
        }
        const bad = rows.filter((row) => row.problems.length > 0).length;
        if (bad > 0) {
          console.error(`${bad} of ${rows.length} hours do not add up (a gap, or a batch in flight)`);
          process.exitCode = EXIT.failed;
        }
      });
    });
}
