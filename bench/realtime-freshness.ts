/**
 * Freshness of the real-time path: produce → Kafka → budget-tracker → Redis apply, at a steady moderate rate.
 * The tracker runs as its own process (services/budget-tracker/src/main.ts, as in production); this script
 * produces clicks one by one with the produce time as the record timestamp (CreateTime) and reads the
 * tracker's freshness histogram (budget_tracker_freshness_seconds: Redis apply time − record timestamp)
 * from /metrics before and after, so the figures are what Prometheus would report. Goal: p99 <= 50 ms.
 *
 *   node --conditions=source --import tsx bench/realtime-freshness.ts [ratePerSecond=300] [seconds=20]
 *
 * Uses KAFKA_BROKERS (default 127.0.0.1:9092) and REDIS_URL (default redis://127.0.0.1:6379); creates and
 * deletes its own topic and Redis key prefix. Quantiles are interpolated inside histogram buckets.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { createKafka, deleteTopic, ensureTopic } from "@adpipe/kafka";
import { Redis } from "ioredis";
import { freePort } from "./lib/services.js";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));

type Buckets = Map<number, number>; // upper bound (s) -> cumulative count

async function scrape(port: number): Promise<Buckets> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const buckets: Buckets = new Map();
  for (const match of text.matchAll(
    /^budget_tracker_freshness_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    const le = match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.set(le, Number(match[2]));
  }
  return buckets;
}

/** Quantile (in ms) of the observations between two scrapes, interpolated linearly inside its bucket. */
function quantileMs(before: Buckets, after: Buckets, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const [i, le] of bounds.entries()) {
    const count = counts[i] ?? 0;
    if (count >= rank) {
      if (!Number.isFinite(le)) return previousBound * 1000;
      const inBucket = count - previousCount;
      const fraction = inBucket === 0 ? 1 : (rank - previousCount) / inBucket;
      return Math.round((previousBound + (le - previousBound) * fraction) * 10_000) / 10;
    }
    previousBound = le;
    previousCount = count;
  }
  return Number.NaN;
}

export interface TrackerFreshnessOptions {
  rate: number;
  seconds: number;
  brokers: string;
  redisUrl: string;
}

/** Runs the tracker at a steady low rate and returns its freshness quantiles (ms) from its histogram. */
export async function measureTrackerFreshness(
  options: TrackerFreshnessOptions,
): Promise<Record<string, number>> {
  const { rate, seconds, brokers, redisUrl } = options;
  const run = randomBytes(4).toString("hex");
  const topic = `bench-freshness-${run}`;
  const prefix = `bench:freshness-${run}:`;
  const kafka = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: brokers }, { clientId: `bench-${run}` }));
  await ensureTopic(kafka, { topic, partitions: 3 });
  const port = await freePort();
  const tracker = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/budget-tracker/src/main.ts"],
    {
      cwd: repoRoot,
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        PATH: process.env.PATH ?? "",
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC: topic,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TRACKER_GROUP_ID: `bench-${run}`,
        OPS_PORT: String(port),
        OPS_HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        TRACKER_SESSION_TIMEOUT_MS: "6000",
      },
    },
  );
  const producer = kafka.producer();
  try {
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      if (ready?.status === 200) break;
      await sleep(200);
    }
    await producer.connect();
    const produce = async (count: number) => {
      const started = Date.now();
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        const due = started + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 1) await sleep(wait);
        const advertiser = `adv-${i % 200}`;
        const now = Date.now();
        const value = JSON.stringify({
          event_type: "ad_click",
          click_id: `${run}-${started}-${i}`,
          advertiser_id: advertiser,
          amount: "0.25",
          budget_value: 1_000_000,
          timestamp: new Date(now).toISOString(),
        });
        // Not awaited one by one: an ad server does not wait for the ack before the next click.
        sends.push(
          producer.send({ topic, acks: 1, messages: [{ key: advertiser, value, timestamp: String(now) }] }),
        );
      }
      await Promise.all(sends);
    };
    await produce(Math.min(rate * 2, 1_000)); // warm-up: connections, JIT, group join
    await sleep(1_000);
    const before = await scrape(port);
    await produce(Math.round(rate * seconds));
    await sleep(1_500);
    const after = await scrape(port);
    const measured = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
    return {
      rate_per_s: rate,
      seconds,
      measured_records: measured,
      p50_ms: quantileMs(before, after, 0.5),
      p95_ms: quantileMs(before, after, 0.95),
      p99_ms: quantileMs(before, after, 0.99),
      goal_p99_ms: 50,
      load_average_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    tracker.kill("SIGTERM");
    await new Promise((resolve) => tracker.once("exit", resolve));
    const redis = new Redis(redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
    await redis.quit();
    await deleteTopic(kafka, topic);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  measureTrackerFreshness({
    rate: Number(process.argv[2] ?? 300),
    seconds: Number(process.argv[3] ?? 20),
    brokers: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  })
    .then((report) => console.log(JSON.stringify(report, null, 2)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
