import { setTimeout as sleep } from "node:timers/promises";
import { redactUrl } from "@adpipe/config";
import { DeltaExporter, type LakeSink, openLakeSink, type TableExportReport } from "@adpipe/lake";
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  type OpsServer,
  startOpsServer,
} from "@adpipe/telemetry";
import { createPool, migrate } from "@adpipe/warehouse";
import type pg from "pg";
import type { DeltaExporterConfig } from "./config.js";
import { createExporterMetrics } from "./metrics.js";

export interface DeltaExporterService {
  readonly logger: Logger;
  readonly sink: LakeSink;
  /** Resolves when the loop ends: after one pass in "once" mode, after stop() in "continuous" mode. */
  done(): Promise<{ failed: boolean }>;
  /** Finishes the batch in flight, then stops. */
  stop(): Promise<void>;
}

/** Waits `ms`, or less when the signal aborts (stop() ends the wait between passes at once). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch((error: unknown) => {
    if (!signal.aborted) throw error;
  });
}

function passwordOf(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === "" ? [] : [password];
  } catch {
    return [];
  }
}

/** Builds the exporter from its configuration and starts its loop and ops endpoints. */
export async function startDeltaExporterService(config: DeltaExporterConfig): Promise<DeltaExporterService> {
  const { env, lake } = config;
  const logger = createLogger({
    service: "delta-exporter",
    level: env.LOG_LEVEL,
    secrets: [...lake.secrets, ...passwordOf(lake.databaseUrl)],
  });
  const pool: pg.Pool = createPool({
    connectionString: lake.databaseUrl,
    max: env.PG_POOL_MAX,
    applicationName: "adpipe-delta-exporter",
  });
  let ops: OpsServer | undefined;
  try {
    if (env.MIGRATE_ON_START) await migrate(pool);
    const sink = await openLakeSink(lake, logger);
    const registry = createMetricsRegistry("delta-exporter");
    const metrics = createExporterMetrics(registry);
    const controller = new AbortController();
    const exporter = new DeltaExporter({
      pool,
      sink,
      batchRows: lake.batchRows,
      logger,
      signal: controller.signal,
      ...(lake.lakeId === undefined ? {} : { lakeId: lake.lakeId }),
    });
    let lastError: unknown = null;
    ops = await startOpsServer({
      port: env.OPS_PORT,
      host: env.OPS_HOST,
      registry,
      logger,
      checks: {
        postgres: async () => {
          await pool.query("SELECT 1");
        },
        export: async () => {
          if (lastError !== null) throw new Error("the last export pass failed (see logs)");
        },
      },
    });
    logger.info(
      {
        lake: sink.location,
        lakeId: exporter.lakeId,
        database: redactUrl(lake.databaseUrl),
        tables: lake.tables,
        mode: env.DELTA_EXPORT_MODE,
        batchRows: lake.batchRows,
      },
      "delta exporter started",
    );

    const loop = (async (): Promise<{ failed: boolean }> => {
      let backoff = env.DELTA_EXPORT_RETRY_MS;
      for (;;) {
        try {
          const reports: TableExportReport[] = await exporter.exportTables(lake.tables);
          for (const report of reports) metrics.observe(report, Date.now());
          lastError = null;
          backoff = env.DELTA_EXPORT_RETRY_MS;
          if (env.DELTA_EXPORT_MODE === "once" || controller.signal.aborted) return { failed: false };
          await pause(env.DELTA_EXPORT_INTERVAL_MS, controller.signal);
        } catch (error) {
          lastError = error;
          metrics.failed();
          logger.error({ err: error }, "export pass failed");
          if (env.DELTA_EXPORT_MODE === "once") return { failed: true };
          await pause(backoff, controller.signal);
          backoff = Math.min(backoff * 2, 600_000);
        }
        if (controller.signal.aborted) return { failed: false };
      }
    })();

    let stopping: Promise<void> | undefined;
    return {
      logger,
      sink,
      done: () => loop,
      stop() {
        stopping ??= (async () => {
          controller.abort();
          await loop;
          await ops?.close();
          await pool.end();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await ops?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw error;
  }
}
