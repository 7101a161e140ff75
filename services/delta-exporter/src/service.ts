import { redactUrl, urlPasswordSecrets } from "@adpipe/config";
import { type DetectedReset, describeReset } from "@adpipe/core";
import { DeltaExporter, type LakeSink, openLakeSink, type TableExportReport } from "@adpipe/lake";
import {
  backoffDelayMs,
  createLogger,
  createMetricsRegistry,
  type Logger,
  pauseUnlessAborted,
  ResourceStack,
} from "@adpipe/telemetry";
import {
  clearResetDetections,
  openServicePool,
  postgresReadiness,
  recordResetDetections,
} from "@adpipe/warehouse";
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

/** Builds the exporter from its configuration and starts its loop and ops endpoints. */
export async function startDeltaExporterService(config: DeltaExporterConfig): Promise<DeltaExporterService> {
  const { env, lake } = config;
  const logger = createLogger({
    service: "delta-exporter",
    level: env.LOG_LEVEL,
    secrets: [...lake.secrets, ...urlPasswordSecrets(lake.databaseUrl)],
  });
  const resources = new ResourceStack(logger);
  try {
    const pool = await openServicePool(resources, {
      connectionString: lake.databaseUrl,
      max: env.PG_POOL_MAX,
      applicationName: "adpipe-delta-exporter",
      migrateOnStart: env.MIGRATE_ON_START,
    });
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
    // Topic resets found by the last pass, per topic/partition (the lake stands beyond the warehouse's position).
    let detected = new Map<string, DetectedReset>();
    const resetReason = (): string | undefined =>
      detected.size === 0
        ? undefined
        : `the lake export stands beyond the warehouse (${[...detected.values()].map((r) => `${r.topic} partition ${r.partition} ${describeReset(r)}`).join(", ")}): those topics are not exported until \`adpipe offsets reset --topic <topic> --to earliest --yes\` (see docs/operations.md)`;
    const reportResets = async (resets: readonly DetectedReset[]): Promise<void> => {
      const next = new Map(resets.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
      for (const [key, reset] of next) {
        if (detected.has(key)) continue;
        logger.error(
          {
            topic: reset.topic,
            partition: reset.partition,
            storedOffset: reset.storedOffset.toString(),
            logEndOffset: reset.logEndOffset.toString(),
            lake: exporter.lakeId,
            action: `topic ${reset.topic} is not exported; check docs/operations.md, then run \`adpipe offsets reset --topic ${reset.topic} --to earliest --yes\``,
          },
          `topic reset detected: the lake's export position of ${reset.topic} partition ${reset.partition} (${reset.storedOffset}) lies beyond the warehouse's (${reset.logEndOffset}); rows below it would never be exported`,
        );
      }
      const topics = new Set([...detected.values(), ...next.values()].map((r) => r.topic));
      for (const topic of topics) {
        const mine = [...next.values()].filter((r) => r.topic === topic);
        if (mine.length > 0) {
          await recordResetDetections(
            pool,
            "delta-exporter",
            exporter.lakeId,
            topic,
            mine.map((r) => ({ ...r, generation: r.generation ?? 0 })),
          ).catch((error: unknown) => logger.warn({ err: error }, "recording the reset in Postgres failed"));
        } else {
          logger.info({ topic, lake: exporter.lakeId }, "topic reset resolved: exporting the topic again");
          await clearResetDetections(pool, "delta-exporter", exporter.lakeId, topic).catch(() => undefined);
        }
      }
      detected = next;
      metrics.resets([...next.values()]);
    };
    await resources.opsServer({
      port: env.OPS_PORT,
      host: env.OPS_HOST,
      registry,
      logger,
      checks: {
        postgres: postgresReadiness(pool),
        export: async () => {
          if (lastError !== null) throw new Error("the last export pass failed (see logs)");
        },
        topic: async () => {
          const reason = resetReason();
          if (reason !== undefined) throw new Error(reason);
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
      // Exact doubling from DELTA_EXPORT_RETRY_MS up to 10 minutes, as the setting documents (no jitter).
      const retry = { initialDelayMs: env.DELTA_EXPORT_RETRY_MS, maxDelayMs: 600_000, jitter: 0 };
      let failures = 0;
      for (;;) {
        try {
          const reports: TableExportReport[] = await exporter.exportTables(lake.tables);
          for (const report of reports) metrics.observe(report, Date.now());
          if (reports.some((report) => report.table !== "gold"))
            await reportResets(reports.flatMap((report) => report.resets));
          lastError = null;
          failures = 0;
          if (env.DELTA_EXPORT_MODE === "once" || controller.signal.aborted) return { failed: false };
          await pauseUnlessAborted(env.DELTA_EXPORT_INTERVAL_MS, controller.signal);
        } catch (error) {
          lastError = error;
          metrics.failed();
          logger.error({ err: error }, "export pass failed");
          if (env.DELTA_EXPORT_MODE === "once") return { failed: true };
          failures++;
          await pauseUnlessAborted(backoffDelayMs(failures, retry), controller.signal);
        }
        if (controller.signal.aborted) return { failed: false };
      }
    })();

    resources.defer("export loop", async () => {
      controller.abort();
      await loop;
    });
    return { logger, sink, done: () => loop, stop: () => resources.release() };
  } catch (error) {
    await resources.release();
    throw error;
  }
}
