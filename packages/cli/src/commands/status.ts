import { ConfigError, kafkaConnectionFromEnv, loadEnv, postgresEnvSchema, redactUrl } from "@adpipe/config";
import { checkPosition, describeReset } from "@adpipe/core";
import { createKafka, resetCommand, withAdmin } from "@adpipe/kafka";
import { SpendStore, spendStoreEnvSchema } from "@adpipe/spend-store";
import {
  createPool,
  FUTURE_EVENTS_WARNING_SECONDS,
  type FutureEvents,
  findUnfinishedReset,
  listResetDetections,
  type OffsetResetRecord,
  type ResetDetectionRow,
  readGoldFreshness,
} from "@adpipe/warehouse";
import { type Command, InvalidArgumentError } from "commander";
import type { Cluster, Redis } from "ioredis";
import { logLevel } from "kafkajs";
import { EXIT } from "../exit-codes.js";
import { cliQueries } from "../queries.js";
import { connectRedis, redisConfigured, redisFromEnv } from "./redis-support.js";

export interface PartitionLag {
  partition: number;
  /** High watermark: the next offset to be written. */
  end: string;
  /** Next offset the group will read; null when it has none. */
  committed: string | null;
  lag: string;
  /** Set when the stored offset lies beyond the log end (the topic was replaced): `RESET (stored X > end Y)`. */
  reset?: string;
}

export interface GroupLag {
  group: string;
  /**
   * Where the committed offsets come from: the ingestor's own in Postgres, the tracker's in Redis (REDIS_URL or REDIS_CLUSTER_NODES set),
   * else Kafka's group commits.
   */
  source: "postgres" | "redis" | "kafka";
  partitions: PartitionLag[];
  totalLag: string;
}

export interface LayerCounts {
  estimated: boolean;
  bronze: number;
  silver: number;
  duplicates: number;
  gold: number;
  /** now - newest non-future event time in Gold, in seconds (never negative); null when Gold has none. */
  goldFreshnessSeconds: number | null;
  goldNewestEvent: string | null;
  /** Gold rows whose newest event is dated after now (wrong producer clocks): reported, never in freshness. */
  goldFutureEvents: FutureEvents | null;
  goldLastWriteSecondsAgo: number | null;
}

export interface TopicResets {
  /** Partitions services recorded as reset (ingest.topic_reset_detections). */
  detections: {
    service: string;
    consumer: string;
    partition: number;
    storedOffset: string | null;
    logEndOffset: string | null;
    reason: string;
    detectedAt: string;
  }[];
  /** An `adpipe offsets reset` that did not finish (crashed midway): run it again. */
  unfinished: { id: string; target: string; actor: string; startedAt: string } | null;
}

export interface StatusReport {
  topic: string;
  kafka: { brokers: string[]; partitions: number; groups: GroupLag[] } | { error: string };
  warehouse: ({ database: string } & LayerCounts) | { error: string };
  /** Absent when the warehouse could not be read. */
  resets?: TopicResets;
}

/** True when anything says the topic was reset and not yet resolved (exit 1). */
export function hasReset(report: StatusReport): boolean {
  const kafkaReset =
    !("error" in report.kafka) &&
    report.kafka.groups.some((g) => g.partitions.some((p) => p.reset !== undefined));
  return (
    kafkaReset || (report.resets?.detections.length ?? 0) > 0 || (report.resets?.unfinished ?? null) !== null
  );
}

/** Lag per partition from end offsets and a group's next offsets (a group with none lags by the whole log). */
export function lagOf(
  ends: readonly { partition: number; high: string; low: string }[],
  committed: ReadonlyMap<number, string>,
): { partitions: PartitionLag[]; totalLag: string } {
  let total = 0n;
  const partitions = [...ends]
    .sort((a, b) => a.partition - b.partition)
    .map((end) => {
      const next = committed.get(end.partition);
      const from = next === undefined || BigInt(next) < 0n ? BigInt(end.low) : BigInt(next);
      const lag = BigInt(end.high) > from ? BigInt(end.high) - from : 0n;
      total += lag;
      const bounds = { start: BigInt(end.low), end: BigInt(end.high) };
      const check = next === undefined || BigInt(next) < 0n ? null : checkPosition(BigInt(next), bounds);
      return {
        partition: end.partition,
        end: end.high,
        committed: next === undefined || BigInt(next) < 0n ? null : next,
        lag: lag.toString(),
        ...(check?.status === "reset"
          ? {
              reset: describeReset({
                topic: "",
                partition: end.partition,
                storedOffset: BigInt(next ?? 0),
                logStartOffset: bounds.start,
                logEndOffset: bounds.end,
                reason: check.reason,
              }),
            }
          : {}),
      };
    });
  return { partitions, totalLag: total.toString() };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function kafkaStatus(
  topic: string,
  groups: readonly { group: string; storedIn?: Map<number, string>; source?: GroupLag["source"] }[],
): Promise<StatusReport["kafka"]> {
  const connection = kafkaConnectionFromEnv(process.env, { clientId: "adpipe-cli" });
  const kafka = createKafka(connection, {
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
    connectionTimeout: 5_000,
  });
  return withAdmin(kafka, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) throw new Error(`topic ${topic} does not exist`);
    const ends = await admin.fetchTopicOffsets(topic);
    const out: GroupLag[] = [];
    for (const { group, storedIn, source: storedSource } of groups) {
      let committed = storedIn;
      let source: GroupLag["source"] = storedSource ?? "postgres";
      if (committed === undefined || committed.size === 0) {
        source = "kafka";
        const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        committed = new Map((fetched[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
      }
      out.push({ group, source, ...lagOf(ends, committed) });
    }
    return { brokers: [...connection.brokers], partitions: ends.length, groups: out };
  });
}

async function warehouseStatus(
  databaseUrl: string,
  estimate: boolean,
  ingestorGroup: string,
  topic: string,
): Promise<{ counts: LayerCounts; stored: Map<number, string>; resets: TopicResets }> {
  const pool = createPool({
    connectionString: databaseUrl,
    max: 1,
    applicationName: "adpipe-status",
    statementTimeoutMs: 60_000,
  });
  try {
    const { rows } = await pool.query<{
      bronze_rows: string | null;
      silver_rows: string | null;
      duplicate_rows: string | null;
      gold_rows: string | null;
      gold_updated_at: Date | null;
      db_now: Date;
    }>(cliQueries.prepared(estimate ? "status_layer_estimates" : "status_layer_counts", []));
    const row = rows[0];
    if (row === undefined) throw new Error("no status row");
    const now = row.db_now.getTime();
    const freshness = await readGoldFreshness(pool);
    const offsets = await pool.query<{ partition: number; next_offset: string }>(
      cliQueries.prepared("status_stored_offsets", [ingestorGroup, topic]),
    );
    const resets = topicResets(
      await listResetDetections(pool, topic),
      await findUnfinishedReset(pool, topic),
    );
    return {
      resets,
      counts: {
        estimated: estimate,
        bronze: Number(row.bronze_rows ?? 0),
        silver: Number(row.silver_rows ?? 0),
        duplicates: Number(row.duplicate_rows ?? 0),
        gold: Number(row.gold_rows ?? 0),
        goldFreshnessSeconds: freshness.freshnessSeconds,
        goldNewestEvent: freshness.newestEventAt,
        goldFutureEvents: freshness.future,
        goldLastWriteSecondsAgo:
          row.gold_updated_at === null ? null : (now - row.gold_updated_at.getTime()) / 1_000,
      },
      stored: new Map(offsets.rows.map((r) => [r.partition, r.next_offset])),
    };
  } finally {
    await pool.end();
  }
}

function topicResets(detections: ResetDetectionRow[], unfinished: OffsetResetRecord | null): TopicResets {
  return {
    detections: detections.map((d) => ({
      service: d.service,
      consumer: d.consumer,
      partition: d.partition,
      storedOffset: d.storedOffset,
      logEndOffset: d.logEndOffset,
      reason: d.reason,
      detectedAt: d.detectedAt.toISOString(),
    })),
    unfinished:
      unfinished === null
        ? null
        : {
            id: unfinished.id,
            target: unfinished.target,
            actor: unfinished.actor,
            startedAt: unfinished.startedAt.toISOString(),
          },
  };
}

/** The tracker's positions from its Redis meta hash (null when neither REDIS_URL nor REDIS_CLUSTER_NODES is set, or Redis has no state). */
async function trackerOffsets(topic: string): Promise<Map<number, string> | null> {
  if (!redisConfigured()) return null;
  let redis: Redis | Cluster;
  let prefix: string;
  try {
    prefix = loadEnv(spendStoreEnvSchema).REDIS_KEY_PREFIX;
    redis = await connectRedis(redisFromEnv(), { maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  } catch {
    return null;
  }
  try {
    const meta = await new SpendStore({ redis, topic, prefix }).readMeta();
    return meta === null ? null : new Map(meta.offsets.map((o) => [o.partition, String(o.offset)]));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((cells) => (cells[i] ?? "").length)));
  return rows.map((cells) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  "),
  );
}

const count = (n: number) => new Intl.NumberFormat("en-US").format(n);

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  if ("error" in report.kafka) {
    lines.push(`Kafka: unavailable (${report.kafka.error})`);
  } else {
    lines.push(
      `Kafka ${report.kafka.brokers.join(",")}, topic ${report.topic} (${report.kafka.partitions} partitions)`,
    );
    for (const group of report.kafka.groups) {
      const from =
        group.source === "postgres"
          ? "Postgres ingest.consumer_offsets"
          : group.source === "redis"
            ? "the tracker's Redis meta hash"
            : "Kafka";
      lines.push("", `  group ${group.group}: lag ${group.totalLag} (committed offsets from ${from})`);
      const rows = [
        ["  partition", "end", "committed", "lag"],
        ...group.partitions.map((p) => [`  ${p.partition}`, p.end, p.committed ?? "-", p.reset ?? p.lag]),
      ];
      lines.push(...table(rows));
    }
  }
  const resets = report.resets;
  if (resets !== undefined && (resets.detections.length > 0 || resets.unfinished !== null)) {
    lines.push("", `TOPIC RESET: ${report.topic} was deleted and recreated (or restored) under the pipeline`);
    for (const d of resets.detections) {
      lines.push(
        `  ${d.service} (${d.consumer}) partition ${d.partition}: RESET (stored ${d.storedOffset ?? "?"} > end ${d.logEndOffset ?? "?"}) since ${d.detectedAt}`,
      );
    }
    if (resets.unfinished !== null) {
      lines.push(
        `  reset #${resets.unfinished.id} (--to ${resets.unfinished.target}, ${resets.unfinished.actor}, ${resets.unfinished.startedAt}) is unfinished: run it again to finish it`,
      );
    }
    lines.push(`  see docs/operations.md, then: ${resetCommand(report.topic)}`);
  } else if (hasReset(report)) {
    lines.push(
      "",
      `TOPIC RESET: a stored offset lies beyond the log end; see docs/operations.md, then: ${resetCommand(report.topic)}`,
    );
  }
  lines.push("");
  if ("error" in report.warehouse) {
    lines.push(`Warehouse: unavailable (${report.warehouse.error})`);
  } else {
    const w = report.warehouse;
    const approx = w.estimated ? "~" : "";
    lines.push(`Warehouse ${w.database}${w.estimated ? " (planner estimates)" : ""}`);
    lines.push(
      `  rows      bronze ${approx}${count(w.bronze)}   silver ${approx}${count(w.silver)}   duplicates ${approx}${count(w.duplicates)}   gold ${approx}${count(w.gold)}`,
    );
    lines.push(
      w.goldFreshnessSeconds === null
        ? w.goldFutureEvents === null
          ? "  freshness Gold is empty"
          : "  freshness - (every event in Gold is dated in the future)"
        : `  freshness ${w.goldFreshnessSeconds.toFixed(1)} s (newest event in Gold not dated in the future ${w.goldNewestEvent}; last Gold write ${w.goldLastWriteSecondsAgo?.toFixed(1)} s ago)`,
    );
    const future = w.goldFutureEvents;
    if (future !== null) {
      lines.push(
        `  ${future.aheadSeconds > FUTURE_EVENTS_WARNING_SECONDS ? "WARNING  " : ""}future-dated events: ${count(future.rows)} Gold row${future.rows === 1 ? "" : "s"} of ${count(future.advertisers)} advertiser${future.advertisers === 1 ? "" : "s"}, up to ${future.aheadSeconds.toFixed(1)} s ahead (${future.newestEventAt}): a producer's clock or time zone is wrong (naive timestamps are read as UTC)`,
      );
    }
  }
  return lines.join("\n");
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface StatusOptions {
  group?: string[];
  estimate?: boolean;
  json?: boolean;
  maxLag?: number;
  maxFreshness?: number;
}

/** `adpipe status`: consumer lag per partition, Gold freshness and row counts per layer. */
export function register(program: Command): void {
  program
    .command("status")
    .description(
      "Consumer lag per partition of the pipeline's groups, Gold freshness and row counts per layer",
    )
    .option(
      "--group <id>",
      "consumer group to report (repeatable; default: INGESTOR_GROUP_ID and TRACKER_GROUP_ID or their defaults)",
      collect,
    )
    .option(
      "--estimate",
      "row counts from planner statistics (instant on big tables) instead of exact counts",
    )
    .option("--json", "print the report as JSON")
    .option("--max-lag <records>", "exit 1 when a group's total lag exceeds this", nonNegative)
    .option("--max-freshness <seconds>", "exit 1 when Gold's newest event is older than this", nonNegative)
    .addHelpText(
      "after",
      "\nReads KAFKA_BROKERS or EVENT_HUB_CONNECTION_STRING, KAFKA_TOPIC and DATABASE_URL; with REDIS_URL or\nREDIS_CLUSTER_NODES (and REDIS_KEY_PREFIX) the tracker's positions come from Redis. A partition whose stored offset lies beyond the log end\nshows RESET (stored X > end Y): the topic was deleted and recreated (see docs/operations.md).\nExit 1 on a topic reset (or --max-lag / --max-freshness exceeded), 69 when Kafka or Postgres is unavailable.",
    )
    .action(async (options: StatusOptions) => {
      const ingestorGroup = process.env.INGESTOR_GROUP_ID || "adpipe-ingestor";
      const trackerGroup = process.env.TRACKER_GROUP_ID || "adpipe-budget-tracker";
      const groupNames = options.group ?? [ingestorGroup, trackerGroup];
      let topic: string;
      let databaseUrl: string;
      try {
        topic = kafkaConnectionFromEnv(process.env).topic;
        databaseUrl = loadEnv(postgresEnvSchema).DATABASE_URL;
      } catch (error) {
        if (error instanceof ConfigError) {
          console.error(`adpipe status: ${error.message}`);
          process.exitCode = EXIT.usage;
          return;
        }
        throw error;
      }

      let warehouse: StatusReport["warehouse"];
      let stored = new Map<number, string>();
      let resets: TopicResets | undefined;
      try {
        const result = await warehouseStatus(databaseUrl, options.estimate === true, ingestorGroup, topic);
        stored = result.stored;
        resets = result.resets;
        warehouse = { database: redactUrl(databaseUrl), ...result.counts };
      } catch (error) {
        // 42P01: undefined_table.
        const missing = (error as { code?: string }).code === "42P01";
        warehouse = {
          error: missing ? "the warehouse tables do not exist: run `adpipe migrate`" : errorText(error),
        };
      }
      const tracker = await trackerOffsets(topic);
      let kafka: StatusReport["kafka"];
      try {
        kafka = await kafkaStatus(
          topic,
          groupNames.map((group) =>
            group === ingestorGroup
              ? { group, storedIn: stored }
              : group === trackerGroup && tracker !== null
                ? { group, storedIn: tracker, source: "redis" as const }
                : { group },
          ),
        );
      } catch (error) {
        kafka = { error: errorText(error) };
      }
      const report: StatusReport = { topic, kafka, warehouse, ...(resets === undefined ? {} : { resets }) };
      console.log(options.json === true ? JSON.stringify(report) : formatStatus(report));

      if (hasReset(report)) {
        process.exitCode = EXIT.failed;
        return;
      }
      if ("error" in kafka || "error" in warehouse) {
        process.exitCode = EXIT.unavailable;
        return;
      }
      const tooMuchLag =
        options.maxLag !== undefined &&
        kafka.groups.some((group) => Number(group.totalLag) > (options.maxLag ?? 0));
      const stale =
        options.maxFreshness !== undefined &&
        (warehouse.goldFreshnessSeconds === null || warehouse.goldFreshnessSeconds > options.maxFreshness);
      process.exitCode = tooMuchLag || stale ? EXIT.failed : EXIT.ok;
    });
}
