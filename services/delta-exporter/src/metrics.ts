import type { TableExportReport } from "@adpipe/lake";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ExporterMetrics {
  /** Records a finished pass of one table. */
  observe(report: TableExportReport, nowMs: number): void;
  failed(): void;
  /** The partitions whose export position lies beyond the warehouse's (topic reset); [] clears. */
  resets(resets: readonly { topic: string; partition: number }[]): void;
}

/** Prometheus metrics of the exporter (rows exported, export lag, commits, races lost, failures). */
export function createExporterMetrics(registry: Registry): ExporterMetrics {
  const labelNames = ["table"] as const;
  const rows = new Counter({
    name: "delta_export_rows_total",
    help: "Rows committed to the lake",
    labelNames,
    registers: [registry],
  });
  const commits = new Counter({
    name: "delta_export_commits_total",
    help: "Delta commits made",
    labelNames,
    registers: [registry],
  });
  const superseded = new Counter({
    name: "delta_export_superseded_total",
    help: "Batches another exporter had already committed (dropped, nothing duplicated)",
    labelNames,
    registers: [registry],
  });
  const conflicts = new Counter({
    name: "delta_export_conflicts_total",
    help: "Gold plans re-made after a concurrent commit changed the same days",
    labelNames,
    registers: [registry],
  });
  const recovered = new Counter({
    name: "delta_export_recovered_partitions_total",
    help: "Partitions whose Postgres progress was behind the Delta log at start (crash after commit), repaired",
    labelNames,
    registers: [registry],
  });
  const failures = new Counter({
    name: "delta_export_failures_total",
    help: "Export passes that failed",
    registers: [registry],
  });
  const version = new Gauge({
    name: "delta_export_table_version",
    help: "Latest Delta version per table",
    labelNames,
    registers: [registry],
  });
  const lagRecords = new Gauge({
    name: "delta_export_lag_records",
    help: "Kafka records ingested into Postgres but not yet exported (Bronze exact, Silver an upper bound)",
    labelNames,
    registers: [registry],
  });
  const resetDetected = new Gauge({
    name: "delta_export_topic_reset_detected",
    help: "1 while the lake's export position of the partition lies beyond what the warehouse holds (its source was reset): the topic is not exported",
    labelNames: ["topic", "partition"],
    registers: [registry],
  });
  const caughtUpAt = new Map<string, number>();
  new Gauge({
    name: "delta_export_lag_seconds",
    help: "Seconds since the export of the table last caught up with Postgres",
    labelNames,
    registers: [registry],
    collect() {
      const now = Date.now();
      for (const [table, at] of caughtUpAt) this.set({ table }, (now - at) / 1_000);
    },
  });
  const duration = new Histogram({
    name: "delta_export_pass_duration_seconds",
    help: "Duration of one table's export pass",
    labelNames,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return {
    observe(report, nowMs) {
      const table = report.table;
      rows.inc({ table }, report.rows);
      commits.inc({ table }, report.commits);
      superseded.inc({ table }, report.superseded);
      conflicts.inc({ table }, report.conflicts);
      recovered.inc({ table }, report.recovered);
      version.set({ table }, report.version);
      if (report.lagRecords !== null) lagRecords.set({ table }, report.lagRecords);
      if (report.caughtUp) caughtUpAt.set(table, nowMs);
      else if (!caughtUpAt.has(table)) caughtUpAt.set(table, nowMs - report.durationMs);
      duration.observe({ table }, report.durationMs / 1_000);
    },
    failed() {
      failures.inc();
    },
    resets(list) {
      resetDetected.reset();
      for (const reset of list)
        resetDetected.set({ topic: reset.topic, partition: String(reset.partition) }, 1);
    },
  };
}
