import type { BenchContext, BenchPart, Dataset } from "../lib/context.js";
import { deletePrefix, scanPrefix, trackerProgress } from "../lib/infra.js";
import { perMillion, recordRunsAndProfile, type ThroughputRun, throughputRun } from "../lib/throughput.js";

const PART = "realtime";

export interface RedisFootprint {
  readonly advertisers: number;
  readonly advertiserBytes: number;
  readonly dedupSets: number;
  readonly dedupMembers: number;
  readonly dedupBytes: number;
  readonly pendingBytes: number;
}

async function memoryOf(context: BenchContext, keys: readonly string[]): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = context.redis.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.memory("USAGE", key, "SAMPLES", 0);
    for (const [error, value] of (await pipeline.exec()) ?? [])
      if (error === null) bytes += Number(value ?? 0);
  }
  return bytes;
}

/** MEMORY USAGE (every element sampled) of the tracker's keys under a prefix, by kind. */
export async function redisFootprint(context: BenchContext, prefix: string): Promise<RedisFootprint> {
  const advertisers = await scanPrefix(context.redis, prefix, "adv:*");
  const dedup = await scanPrefix(context.redis, prefix, "dedup:*");
  const pending = await scanPrefix(context.redis, prefix, "pending:*");
  let dedupMembers = 0;
  for (let i = 0; i < dedup.length; i += 500) {
    const pipeline = context.redis.pipeline();
    for (const key of dedup.slice(i, i + 500)) pipeline.scard(key);
    for (const [error, value] of (await pipeline.exec()) ?? [])
      if (error === null) dedupMembers += Number(value ?? 0);
  }
  return {
    advertisers: advertisers.length,
    advertiserBytes: await memoryOf(context, advertisers),
    dedupSets: dedup.length,
    dedupMembers,
    dedupBytes: await memoryOf(context, dedup),
    pendingBytes: await memoryOf(context, pending),
  };
}

interface RealtimeRun extends ThroughputRun {
  readonly footprint: RedisFootprint;
}

async function applyOnce(
  context: BenchContext,
  dataset: Dataset,
  label: string,
  profileDir?: string,
): Promise<RealtimeRun> {
  const prefix = `bench:${context.settings.tag}:${label}:`;
  try {
    const run = await throughputRun(context, {
      kind: "tracker",
      dataset,
      env: {
        KAFKA_BROKERS: context.settings.kafkaBrokers,
        KAFKA_TOPIC: dataset.topic,
        REDIS_URL: context.settings.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TRACKER_GROUP_ID: context.name(`tracker-${label}`),
        RECONCILE_INTERVAL_MS: "0",
      },
      progress: () => trackerProgress(context.redis, prefix, dataset.topic),
      applicationName: null,
      ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir }),
    });
    return { ...run, footprint: await redisFootprint(context, prefix) };
  } finally {
    await deletePrefix(context.redis, prefix);
  }
}

export const realtimePart: BenchPart = {
  name: PART,
  description: "pre-loaded topic → budget-tracker (child process) → spend and can_serve applied in Redis",
  async run(context) {
    const { settings, report } = context;
    const dataset = await context.dataset();
    const runs: RealtimeRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const result = await applyOnce(context, dataset, `rt${run}`);
      context.log(
        `realtime run ${run}: ${Math.round(result.eventsPerSecond).toLocaleString("en-US")} events/s (${result.seconds.toFixed(1)} s), tracker ${result.serviceCpuSeconds.toFixed(1)} CPU s, Redis ${result.peers.redis?.toFixed(1)} CPU s`,
      );
      runs.push(result);
    }
    const events = dataset.events;
    report.add({
      id: "realtime.events_per_s",
      part: PART,
      label: `Kafka → Redis applied (${settings.partitions} partitions, ${events.toLocaleString("en-US")} events)`,
      unit: "events/s",
      better: "higher",
      goal: 100_000,
      must: 50_000,
      runs: runs.map((r) => r.eventsPerSecond),
      ceilingId: "ceiling.consume_kafkajs",
      note: "from the tracker's ready to the last offset recorded in Redis",
    });
    report.add({
      id: "realtime.events_per_cpu_s",
      part: PART,
      label: "events per CPU-second of the path (tracker + Redis server)",
      unit: "events/CPU s",
      better: "higher",
      runs: runs.map((r) => events / (r.serviceCpuSeconds + (r.peers.redis ?? Number.NaN))),
      note: "what the path costs, independent of how busy the machine was; broker CPU not included",
    });
    report.add({
      id: "resources.tracker_cpu",
      part: "resources",
      label: "budget-tracker CPU per million events",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => perMillion(r.serviceCpuSeconds, events)),
    });
    report.add({
      id: "resources.tracker_redis_cpu",
      part: "resources",
      label: "Redis server CPU per million events (tracker runs)",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => perMillion(r.peers.redis, events)),
    });
    report.add({
      id: "resources.tracker_peak_rss",
      part: "resources",
      label: "budget-tracker peak RSS",
      unit: "MiB",
      better: "lower",
      runs: runs.map((r) => r.peakRssBytes / 1_048_576),
    });
    report.add({
      id: "resources.redis_per_advertiser",
      part: "resources",
      label: "Redis per advertiser (spend hash)",
      unit: "bytes",
      better: "lower",
      runs: runs.map((r) => r.footprint.advertiserBytes / Math.max(1, r.footprint.advertisers)),
    });
    report.add({
      id: "resources.redis_dedup_per_million",
      part: "resources",
      label: "Redis dedup state per million clicks",
      unit: "MiB",
      better: "lower",
      runs: runs.map(
        (r) => ((r.footprint.dedupBytes / Math.max(1, r.footprint.dedupMembers)) * 1_000_000) / 1_048_576,
      ),
      note: "MEMORY USAGE of the click_id sets / their members (the generator's ~20-byte click_ids)",
    });
    report.add({
      id: "resources.broker_cpu",
      part: "resources",
      label: "Kafka broker CPU per million events consumed (tracker runs)",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => perMillion(r.peers.broker, events)),
    });
    await recordRunsAndProfile(
      context,
      PART,
      runs,
      (dataset, dir) => applyOnce(context, dataset, "rtprof", dir),
      "tracker",
    );
  },
};
