import { ConfigError, loadEnv } from "@adpipe/config";
import {
  DeltaExporter,
  EXPORT_TABLE_KEYS,
  type ExportProgress,
  type ExportTableKey,
  isLakeError,
  type LakeSettings,
  lakeEnvSchema,
  lakeSettingsFromEnv,
  openLakeSink,
  type TableExportReport,
} from "@adpipe/lake";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit-codes.js";
import { CommandFailure, parsePositiveInteger, withWarehouse } from "./warehouse-support.js";

function parseTables(value: string): ExportTableKey[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const known = new Set<string>(EXPORT_TABLE_KEYS);
  const unknown = names.filter((name) => !known.has(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`expected a comma-separated list of ${EXPORT_TABLE_KEYS.join(", ")}`);
  }
  return names as ExportTableKey[];
}

function lakeSettings(): LakeSettings {
  try {
    return lakeSettingsFromEnv(loadEnv(lakeEnvSchema));
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

/** A bar per table on a terminal; otherwise (logs, CI) a plain line every 25 %. */
function progressReporter(stream: NodeJS.WriteStream): {
  update: (p: ExportProgress) => void;
  stop: () => void;
} {
  if (stream.isTTY === true) {
    const multi = new MultiBar(
      {
        format: "{table} [{bar}] {percentage}% | {value}/{total} rows | v{version} | {duration_formatted}",
        stream,
        clearOnComplete: false,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    const bars = new Map<string, SingleBar>();
    return {
      update: (p) => {
        const total = Math.max(p.total, p.rows, 1);
        let bar = bars.get(p.table);
        if (bar === undefined) {
          bar = multi.create(total, p.rows, { table: p.table.padEnd(6), version: p.version });
          bars.set(p.table, bar);
        }
        bar.setTotal(total);
        bar.update(p.rows, { table: p.table.padEnd(6), version: p.version });
      },
      stop: () => multi.stop(),
    };
  }
  const quarters = new Map<string, number>();
  return {
    update: (p) => {
      const quarter = p.total === 0 ? 4 : Math.min(4, Math.floor((p.rows / p.total) * 4));
      if (quarters.get(p.table) !== quarter) {
        quarters.set(p.table, quarter);
        stream.write(
          `export ${p.table}: ${p.rows}/${p.total} rows (${quarter * 25}%), version ${p.version}\n`,
        );
      }
    },
    stop: () => undefined,
  };
}

function describe(report: TableExportReport): string {
  const lag = report.lagRecords === null ? "" : `, ${report.lagRecords} records behind`;
  const races =
    report.superseded + report.conflicts > 0 ? `, ${report.superseded + report.conflicts} lost races` : "";
  const recovered = report.recovered > 0 ? `, ${report.recovered} partitions recovered` : "";
  return (
    `${report.table}: ${report.rows} rows in ${report.commits} commits (${report.files} files, ${report.bytes} bytes), ` +
    `version ${report.version}${report.caughtUp ? ", caught up" : ""}${lag}${races}${recovered}, ${(report.durationMs / 1_000).toFixed(1)} s`
  );
}

/** `adpipe export`: one pass of the Delta Lake export (incremental by default, --full to rebuild). */
export function register(program: Command): void {
  program
    .command("export")
    .description(
      "Export Bronze/Silver/Gold from Postgres to Delta Lake tables (LAKE_STORAGE, LAKE_PATH, AZURE_STORAGE_*): " +
        "incremental and idempotent; exits when caught up",
    )
    .option(
      "--tables <list>",
      `tables to export, comma-separated (${EXPORT_TABLE_KEYS.join(",")})`,
      parseTables,
    )
    .option("--full", "rebuild: replace each lake table with one consistent snapshot of Postgres", false)
    .option(
      "--batch-rows <n>",
      "rows per Postgres page and per Delta commit (default LAKE_EXPORT_BATCH_ROWS)",
      parsePositiveInteger,
    )
    .option("--json", "print the per-table reports as JSON", false)
    .action(
      async (options: { tables?: ExportTableKey[]; full: boolean; batchRows?: number; json: boolean }) => {
        const settings = lakeSettings();
        const tables = options.tables ?? [...settings.tables];
        await withWarehouse(async (pool) => {
          let sink: Awaited<ReturnType<typeof openLakeSink>>;
          try {
            sink = await openLakeSink(settings);
          } catch (error) {
            const code =
              isLakeError(error) && error.code === "ADP_LAKE_INVALID_CONFIG" ? EXIT.usage : EXIT.unavailable;
            throw new CommandFailure(
              `cannot open the lake: ${error instanceof Error ? error.message : String(error)}`,
              code,
              {
                cause: error,
              },
            );
          }
          const progress = progressReporter(process.stderr);
          const exporter = new DeltaExporter({
            pool,
            sink,
            batchRows: options.batchRows ?? settings.batchRows,
            onProgress: progress.update,
            ...(settings.lakeId === undefined ? {} : { lakeId: settings.lakeId }),
          });
          let reports: TableExportReport[];
          try {
            reports = await exporter.exportTables(tables, { full: options.full });
          } catch (error) {
            progress.stop();
            if ((error as { code?: unknown }).code === "42P01") {
              throw new CommandFailure(
                "the export's progress tables are missing: run `adpipe migrate` first",
                EXIT.usage,
                {
                  cause: error,
                },
              );
            }
            if (isLakeError(error)) {
              const code =
                error.code === "ADP_LAKE_STORAGE_FAILED"
                  ? EXIT.unavailable
                  : error.code === "ADP_LAKE_INVALID_CONFIG"
                    ? EXIT.usage
                    : EXIT.failed;
              const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
              throw new CommandFailure(`${error.message}${cause}`, code, { cause: error });
            }
            throw error;
          }
          progress.stop();
          if (options.json) {
            console.log(
              JSON.stringify({ lake: sink.location, lakeId: exporter.lakeId, tables: reports }, null, 2),
            );
          } else {
            console.log(`lake ${sink.location}`);
            for (const report of reports) console.log(`  ${describe(report)}`);
          }
        });
      },
    );
}
