import { FUTURE_EVENTS_WARNING_SECONDS, type GoldFreshness, readGoldFreshness } from "@adpipe/warehouse";
import type { Admin } from "kafkajs";
import type { Pool } from "pg";
import type { ConsumerGroupLag, PipelineHealth, PipelineHealthSource, TopicResetState } from "../ports.js";
import { apiQueries } from "../sql.js";

export interface PipelineHealthOptions {
  /** An admin client; connected on first use and kept. */
  admin: Admin;
  topic: string;
  /** Consumer groups whose lag is reported. */
  groups: readonly string[];
  pool: Pool;
  clock?: () => number;
  /** Snapshots are shared by requests within this interval (the dashboard polls; many tabs must not multiply). */
  minIntervalMs?: number;
  /** events/s is measured over about this long. */
  rateWindowMs?: number;
}

export interface PipelineHealthMonitor extends PipelineHealthSource {
  close(): Promise<void>;
}

interface Sample {
  atMs: number;
  total: number;
}

/** The first line of a driver's message, cut short (some Kafka errors carry a whole stack in the message). */
function short(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split("\n")[0] ?? "").slice(0, 160);
}

export function createPipelineHealth(options: PipelineHealthOptions): PipelineHealthMonitor {
  const clock = options.clock ?? Date.now;
  const minIntervalMs = options.minIntervalMs ?? 1_000;
  const rateWindowMs = options.rateWindowMs ?? 10_000;
  const samples: Sample[] = [];
  let connected: Promise<void> | null = null;
  let last: { atMs: number; value: Promise<PipelineHealth> } | null = null;

  const connect = (): Promise<void> => {
    connected ??= options.admin.connect().catch((error: unknown) => {
      connected = null;
      throw error;
    });
    return connected;
  };

  const sample = async (): Promise<PipelineHealth> => {
    const errors: string[] = [];
    const nowMs = clock();
    let total: number | null = null;
    let eventsPerSecond: number | null = null;
    let groups: ConsumerGroupLag[] = options.groups.map((group) => ({ group, lag: null }));
    try {
      await connect();
      const offsets = await options.admin.fetchTopicOffsets(options.topic);
      const high = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
      total = [...high.values()].reduce((sum, n) => sum + n, 0);
      samples.push({ atMs: nowMs, total });
      while (samples.length > 2 && nowMs - samples[1]!.atMs >= rateWindowMs) samples.shift();
      const oldest = samples[0]!;
      if (nowMs > oldest.atMs) eventsPerSecond = ((total - oldest.total) * 1_000) / (nowMs - oldest.atMs);
      groups = await Promise.all(
        options.groups.map(async (group): Promise<ConsumerGroupLag> => {
          const [entry] = await options.admin.fetchOffsets({ groupId: group, topics: [options.topic] });
          const committed = (entry?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
          if (committed.length === 0) return { group, lag: null };
          let lag = 0;
          for (const [partition, end] of high) {
            const done = committed.find((p) => p.partition === partition);
            lag += Math.max(0, end - (done === undefined ? 0 : Number(done.offset)));
          }
          return { group, lag };
        }),
      );
    } catch (error) {
      errors.push(`kafka: ${short(error)}`);
    }
    let freshness: GoldFreshness | null = null;
    try {
      freshness = await readGoldFreshness(options.pool);
    } catch (error) {
      errors.push(`postgres: ${short(error)}`);
    }
    const future = freshness?.future ?? null;
    let topicResets: TopicResetState[] = [];
    try {
      const { rows } = await options.pool.query<Omit<TopicResetState, "detected_at"> & { detected_at: Date }>(
        apiQueries.prepared("topic_resets", [options.topic]),
      );
      topicResets = rows.map((row) => ({ ...row, detected_at: row.detected_at.toISOString() }));
    } catch (error) {
      errors.push(`postgres: ${short(error)}`);
    }
    return {
      topic: options.topic,
      events_per_second: eventsPerSecond === null ? null : Math.round(eventsPerSecond * 10) / 10,
      total_records: total,
      consumer_groups: groups,
      gold_freshness_seconds: freshness?.freshnessSeconds ?? null,
      gold_latest_event_at: freshness?.newestEventAt ?? null,
      gold_future_events:
        future === null
          ? null
          : {
              rows: future.rows,
              advertisers: future.advertisers,
              latest_event_at: future.newestEventAt,
              ahead_seconds: future.aheadSeconds,
              warning: future.aheadSeconds > FUTURE_EVENTS_WARNING_SECONDS,
            },
      topic_resets: topicResets,
      sampled_at: new Date(nowMs).toISOString(),
      errors,
    };
  };

  return {
    snapshot() {
      const nowMs = clock();
      if (last === null || nowMs - last.atMs >= minIntervalMs) last = { atMs: nowMs, value: sample() };
      return last.value;
    },
    async close() {
      if (connected !== null) await options.admin.disconnect().catch(() => undefined);
    },
  };
}
