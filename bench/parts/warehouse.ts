import type { BenchContext, BenchPart, Dataset } from "../lib/context.js";
import { type BenchDatabase, createBenchDatabase, warehouseProgress } from "../lib/infra.js";
import { perMillion, recordRunsAndProfile, type ThroughputRun, throughputRun } from "../lib/throughput.js";

const PART = "warehouse";
const LAYERS = ["bronze", "silver", "gold", "ingest"] as const;

/** Bytes on disk per schema (tables, their partitions, indexes and TOAST). */
async function layerBytes(database: BenchDatabase): Promise<Record<string, number>> {
  const { rows } = await database.pool.query<{ schema: string; bytes: string }>(
    `SELECT n.nspname AS schema, sum(pg_total_relation_size(c.oid))::text AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY($1::text[])
     GROUP BY n.nspname`,
    [LAYERS],
  );
  return Object.fromEntries(
    LAYERS.map((layer) => [layer, Number(rows.find((r) => r.schema === layer)?.bytes ?? 0)]),
  );
}

async function bronzeRows(database: BenchDatabase): Promise<number> {
  const { rows } = await database.pool.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw",
  );
  return Number(rows[0]?.n ?? 0);
}

interface WarehouseRun extends ThroughputRun {
  readonly layerBytes: Record<string, number>;
}

async function ingestOnce(
  context: BenchContext,
  dataset: Dataset,
  label: string,
  profileDir?: string,
): Promise<WarehouseRun> {
  const database = await createBenchDatabase(context.settings, label);
  try {
    const group = context.name(`ingestor-${label}`);
    const run = await throughputRun(context, {
      kind: "ingestor",
      dataset,
      env: {
        KAFKA_BROKERS: context.settings.kafkaBrokers,
        KAFKA_TOPIC: dataset.topic,
        DATABASE_URL: database.url,
        INGESTOR_GROUP_ID: group,
        RETENTION_INTERVAL_MS: "0",
      },
      progress: () => warehouseProgress(database.pool, group, dataset.topic),
      applicationName: `adpipe-ingestor:${group}`,
      ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir }),
    });
    const rows = await bronzeRows(database);
    if (rows !== dataset.events)
      throw new Error(`Bronze holds ${rows} rows after the run, expected ${dataset.events}`);
    return { ...run, layerBytes: await layerBytes(database) };
  } finally {
    await database.drop();
  }
}

export const warehousePart: BenchPart = {
  name: PART,
  description: "pre-loaded topic → ingestor (child process) → Bronze/Silver/Gold committed in Postgres",
  async run(context) {
    const { settings, report } = context;
    const dataset = await context.dataset();
    const runs: WarehouseRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const result = await ingestOnce(context, dataset, `wh${run}`);
      context.log(
        `warehouse run ${run}: ${Math.round(result.eventsPerSecond).toLocaleString("en-US")} events/s (${result.seconds.toFixed(1)} s), ingestor ${result.serviceCpuSeconds.toFixed(1)} CPU s, Postgres backends ${result.peers.postgresBackends?.toFixed(1)} CPU s`,
      );
      runs.push(result);
    }
    report.add({
      id: "warehouse.events_per_s",
      part: PART,
      label: `Kafka → Gold committed (${settings.partitions} partitions, ${dataset.events.toLocaleString("en-US")} events)`,
      unit: "events/s",
      better: "higher",
      goal: 50_000,
      must: 20_000,
      runs: runs.map((r) => r.eventsPerSecond),
      ceilingId: "ceiling.consume_kafkajs",
      note: "from the ingestor's ready to the last offset stored in Postgres",
    });
    const events = dataset.events;
    report.add({
      id: "warehouse.events_per_cpu_s",
      part: PART,
      label: "events per CPU-second of the path (ingestor + its Postgres backends)",
      unit: "events/CPU s",
      better: "higher",
      runs: runs.map((r) => events / (r.serviceCpuSeconds + (r.peers.postgresBackends ?? Number.NaN))),
      note: "what the path costs, independent of how busy the machine was; broker CPU not included",
    });
    report.add({
      id: "resources.ingestor_cpu",
      part: "resources",
      label: "ingestor CPU per million events",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => perMillion(r.serviceCpuSeconds, events)),
    });
    report.add({
      id: "resources.ingestor_postgres_cpu",
      part: "resources",
      label: "its Postgres backends' CPU per million events",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => perMillion(r.peers.postgresBackends, events)),
    });
    report.add({
      id: "resources.ingestor_peak_rss",
      part: "resources",
      label: "ingestor peak RSS",
      unit: "MiB",
      better: "lower",
      runs: runs.map((r) => r.peakRssBytes / 1_048_576),
    });
    for (const layer of ["bronze", "silver", "gold", "ingest"] as const) {
      report.add({
        id: `resources.postgres_${layer}`,
        part: "resources",
        label: `Postgres ${layer === "ingest" ? "ingest state (click registry, offsets)" : layer} per million events`,
        unit: "MiB",
        better: "lower",
        runs: runs.map((r) => (((r.layerBytes[layer] ?? 0) / events) * 1_000_000) / 1_048_576),
      });
    }
    await recordRunsAndProfile(
      context,
      PART,
      runs,
      (dataset, dir) => ingestOnce(context, dataset, "whprof", dir),
      "ingestor",
    );
  },
};
