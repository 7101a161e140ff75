/**
 * One run of both paths under a fixed offered rate: a fresh topic, database and Redis prefix; the ingestor and
 * the budget-tracker (recording every record's commit/apply time − record timestamp); a producer offering the
 * rate in 10 ms ticks with record timestamp = produce time for a warm-up and a measured interval cut in windows;
 * then both paths get DRAIN_LIMIT_MS to catch up. Records not done by then count with the lower bound of their
 * latency. The freshness and mixed parts run it; each adds its own figures.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import type { BenchContext } from "./context.js";
import {
  createBenchDatabase,
  createTopic,
  deletePrefix,
  endOffsets,
  reached,
  removeTopic,
  trackerProgress,
  waitFor,
  warehouseProgress,
} from "./infra.js";
import { type LoadProducer, loadProducer } from "./load-producer.js";
import type { LatencyReply } from "./service-child.js";
import { type ServiceHandle, startService } from "./services.js";

const TICK_MS = 10;
const MAX_SENDS_IN_FLIGHT = 8;
const MAX_SEND_BYTES = 256 * 1024;
/** How long both paths get to catch up after the last send; a path still behind then is reported as such. */
export const DRAIN_LIMIT_MS = 30_000;

export interface FreshnessRunOptions {
  /** Offered events/s. */
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly measuredSeconds: number;
  /** The measured interval is cut into this many windows, summarised separately. */
  readonly windows: number;
  /** Names this run's topic, database, groups and Redis prefix (unique within the invocation). */
  readonly name: string;
}

export interface FreshnessRun {
  readonly rate: number;
  readonly achievedRate: number;
  /** Produce → Gold commit and produce → Redis apply, per window and overall (ms). */
  readonly gold: LatencyReply;
  readonly redis: LatencyReply;
  /** Whether each path had done every record within DRAIN_LIMIT_MS of the last send. */
  readonly caughtUp: { readonly gold: boolean; readonly redis: boolean };
  /** CPU seconds per million events over the measured interval: ingestor, tracker. */
  readonly cpuPerMillion: { readonly ingestor: number; readonly tracker: number };
  /** For the JSON report. */
  readonly detail: Record<string, unknown>;
}

function sum(progress: ReadonlyMap<number, bigint>): number {
  let total = 0n;
  for (const offset of progress.values()) total += offset;
  return Number(total);
}

export async function runFreshness(
  context: BenchContext,
  options: FreshnessRunOptions,
): Promise<FreshnessRun> {
  const { settings } = context;
  const { rate } = options;
  const topic = context.name(options.name);
  const prefix = `bench:${settings.tag}:${options.name}:`;
  await createTopic(context.kafka, topic, settings.partitions);
  const database = await createBenchDatabase(settings, options.name);
  const ingestorGroup = context.name(`${options.name}-ingestor`);
  const services: ServiceHandle[] = [];
  let producer: LoadProducer | undefined;
  try {
    const common = { KAFKA_BROKERS: settings.kafkaBrokers, KAFKA_TOPIC: topic, ...settings.serviceEnv };
    const [ingestor, tracker] = await Promise.all([
      startService("ingestor", {
        mode: settings.mode,
        recordLatency: true,
        env: {
          ...common,
          DATABASE_URL: database.url,
          INGESTOR_GROUP_ID: ingestorGroup,
          RETENTION_INTERVAL_MS: "0",
        },
      }),
      startService("tracker", {
        mode: settings.mode,
        recordLatency: true,
        env: {
          ...common,
          REDIS_URL: settings.redisUrl,
          REDIS_KEY_PREFIX: prefix,
          TRACKER_GROUP_ID: context.name(`${options.name}-tracker`),
          RECONCILE_INTERVAL_MS: "0",
        },
      }),
    ]);
    services.push(ingestor, tracker);
    producer = await loadProducer(context.kafka, topic);

    const warmupMs = options.warmupSeconds * 1000;
    const measuredMs = options.measuredSeconds * 1000;
    const total = Math.round((rate * (warmupMs + measuredMs)) / 1000);
    context.log(
      `producing ${rate.toLocaleString("en-US")} events/s for ${options.warmupSeconds} s warm-up + ${options.measuredSeconds} s measured (${total.toLocaleString("en-US")} events)`,
    );
    const stream = generateStream({
      seed: settings.seed,
      events: total,
      advertisers: settings.advertisers,
      zipfExponent: settings.zipf,
      startMs: Date.now(),
      intervalMs: 1000 / rate,
      runId: `bench-${options.name}-s${settings.seed}`,
    });
    const cpuBefore = await Promise.all(services.map((s) => s.proc()));
    const started = Date.now();
    const inFlight: Promise<unknown>[] = [];
    const sendTimes: number[] = [];
    const sendCounts: number[] = [];
    let lastLog = started;
    let sent = 0;
    let measuredStartCpu: Awaited<ReturnType<ServiceHandle["proc"]>>[] | null = null;
    let progressAtMeasuredStart: [number, number] = [0, 0];
    // Time-bound: a producer that cannot hold the rate sends fewer events (the achieved rate is reported).
    while (sent < total && Date.now() - started < warmupMs + measuredMs) {
      const due = Math.min(total, Math.floor(((Date.now() - started) * rate) / 1000) + 1);
      if (measuredStartCpu === null && Date.now() - started >= warmupMs) {
        measuredStartCpu = await Promise.all(services.map((s) => s.proc()));
        progressAtMeasuredStart = [
          sum(await warehouseProgress(database.pool, ingestorGroup, topic)),
          sum(await trackerProgress(context.redis, prefix, topic)),
        ];
      }
      const messages: GeneratedRecord[] = [];
      const now = Date.now();
      let bytes = 0;
      // One send stays well under the broker's 1 MB request limit even when the loop fell behind.
      for (; sent < due && bytes < MAX_SEND_BYTES; sent++) {
        const next = stream.next();
        if (next.done === true) break;
        // Record timestamp = produce time: latencies are produce → apply/commit.
        bytes += next.value.value.byteLength + 80;
        messages.push({ ...next.value, timestampMs: now });
      }
      if (messages.length > 0) {
        sendTimes.push(now);
        sendCounts.push(messages.length);
        inFlight.push(producer.send(messages));
        if (inFlight.length >= MAX_SENDS_IN_FLIGHT) await inFlight.shift();
      }
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        context.log(
          `  ${sent.toLocaleString("en-US")} sent, ${Math.round((sent * 1000) / (lastLog - started)).toLocaleString("en-US")} events/s so far`,
        );
      }
      if (sent >= due) await sleep(TICK_MS);
    }
    await Promise.all(inFlight);
    const producedSeconds = (Date.now() - started) / 1000;
    const measuredFrom = started + warmupMs;
    const measuredTo = Date.now();
    const ends = await endOffsets(context.kafka, topic);
    const goldDone = async () => reached(await warehouseProgress(database.pool, ingestorGroup, topic), ends);
    const redisDone = async () => reached(await trackerProgress(context.redis, prefix, topic), ends);
    await waitFor("both paths to catch up", async () => (await goldDone()) && (await redisDone()), {
      timeoutMs: DRAIN_LIMIT_MS,
      intervalMs: 100,
    }).catch(() => undefined);
    const censorAtMs = Date.now();
    const caughtUp = { gold: await goldDone(), redis: await redisDone() };
    const caughtUpSeconds = (censorAtMs - measuredTo) / 1000;
    const cpuAfter = await Promise.all(services.map((s) => s.proc()));
    const processedSinceMeasuredStart = [
      sum(await warehouseProgress(database.pool, ingestorGroup, topic)) - progressAtMeasuredStart[0],
      sum(await trackerProgress(context.redis, prefix, topic)) - progressAtMeasuredStart[1],
    ];

    const span = (measuredTo - measuredFrom) / options.windows;
    const windows = Array.from(
      { length: options.windows },
      (_, i) => [measuredFrom + i * span, measuredFrom + (i + 1) * span] as const,
    );
    const expected = windows.map(([from, to]) =>
      sendTimes.reduce((sum, t, i) => (t >= from && t < to ? sum + (sendCounts[i] ?? 0) : sum), 0),
    );
    const request = { windows, expected, censorAtMs };
    const [gold, redis] = await Promise.all([ingestor.latency(request), tracker.latency(request)]);
    const achievedRate = sent / producedSeconds;
    context.log(
      `produced ${sent.toLocaleString("en-US")} events at ${Math.round(achievedRate).toLocaleString("en-US")} events/s; ` +
        (caughtUp.gold && caughtUp.redis
          ? `both paths caught up ${caughtUpSeconds.toFixed(1)} s after the last send`
          : `still behind ${caughtUpSeconds.toFixed(0)} s after the last send: ${caughtUp.gold ? "" : "Gold "}${caughtUp.redis ? "" : "Redis"}`),
    );
    const cpuPerMillion = (i: number) => {
      const from = measuredStartCpu?.[i] ?? cpuBefore[i];
      const to = cpuAfter[i];
      return from === null || from === undefined || to === null || to === undefined
        ? Number.NaN
        : ((to.cpuSeconds - from.cpuSeconds) / (processedSinceMeasuredStart[i] ?? Number.NaN)) * 1_000_000;
    };
    return {
      rate,
      achievedRate,
      gold,
      redis,
      caughtUp,
      cpuPerMillion: { ingestor: cpuPerMillion(0), tracker: cpuPerMillion(1) },
      detail: {
        offered_rate: rate,
        achieved_rate: achievedRate,
        events: sent,
        warmup_seconds: options.warmupSeconds,
        measured_seconds: (measuredTo - measuredFrom) / 1000,
        waited_after_last_send_seconds: caughtUpSeconds,
        caught_up: caughtUp,
        expected_per_window: expected,
        windows: windows.map(([from, to]) => ({
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
        })),
        redis,
        gold,
        peak_rss_mib: cpuAfter.map((p) => (p === null ? null : p.peakRssBytes / 1_048_576)),
        note: "services run with per-record latency recording (bench/lib/service-child.ts), which adds to their memory",
      },
    };
  } finally {
    await producer?.close().catch(() => undefined);
    await Promise.all(services.map((s) => s.stop()));
    await database.drop();
    await deletePrefix(context.redis, prefix);
    await removeTopic(context.kafka, topic);
  }
}

/** The report's note for a path that fell behind (its quantiles are lower bounds). */
export function fellBehindNotes(part: string, run: FreshnessRun): string[] {
  const notes: string[] = [];
  for (const [path, reply, done] of [
    ["Gold", run.gold, run.caughtUp.gold],
    ["Redis", run.redis, run.caughtUp.redis],
  ] as const) {
    if (done) continue;
    const lost = reply.missing.reduce((a, b) => a + b, 0);
    notes.push(
      `${part}: the ${path} path fell behind at ${run.rate.toLocaleString("en-US")} events/s; ${lost.toLocaleString("en-US")} measured records were not done ${DRAIN_LIMIT_MS / 1000} s after the last send and count with a lower bound of their latency (its quantiles are lower bounds)`,
    );
  }
  return notes;
}
