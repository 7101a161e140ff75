import { setTimeout as sleep } from "node:timers/promises";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { advertiserKey, createServingClient } from "@adpipe/serving-client";
import type { BenchContext, BenchPart } from "../lib/context.js";
import {
  createTopic,
  deletePrefix,
  endOffsets,
  reached,
  removeTopic,
  trackerProgress,
  waitFor,
} from "../lib/infra.js";
import { type LoadProducer, loadProducer } from "../lib/load-producer.js";
import { startService } from "../lib/services.js";
import type { LatencySummary } from "../lib/stats.js";

const PART = "overspend";
const TICK_MS = 10;
const MAX_SEND_BYTES = 256 * 1024;

export interface OverspendRun {
  readonly advertisers: number;
  readonly exhausted: number;
  readonly budgetMicros: number;
  readonly overspendMicros: number;
  /** Overspend / budget over all advertisers. */
  readonly share: number;
  readonly worstShare: number;
  readonly clicksSent: number;
  readonly clicksGated: number;
  readonly secondsToExhaustAll: number;
  /** Clicks the ad-server loop emitted per second (before the gate): the offered rate it achieved. */
  readonly offeredPerSecond: number;
  /** produce → Redis apply of the clicks sent: the lag that lets spend land after exhaustion. */
  readonly applyLagMs: LatencySummary;
}

/**
 * An ad server in a loop: every 10 ms it takes the clicks due at the offered rate (core's generator: uniform
 * traffic, one small budget per advertiser, only valid clicks), asks can_serve for their advertisers through
 * the serving client (one round trip), drops the clicks of advertisers not serving and produces the rest.
 * Whatever the tracker applies beyond a budget is the spend that landed after it was exhausted.
 */
async function overspendOnce(context: BenchContext, run: number): Promise<OverspendRun> {
  const { settings } = context;
  const topic = context.name(`overspend-${run}`);
  const prefix = `bench:${settings.tag}:over${run}:`;
  const advertisers = settings.overspendAdvertisers;
  const rate = settings.overspendRate;
  await createTopic(context.kafka, topic, settings.partitions);
  const tracker = await startService("tracker", {
    mode: settings.mode,
    recordLatency: true,
    env: {
      KAFKA_BROKERS: settings.kafkaBrokers,
      KAFKA_TOPIC: topic,
      REDIS_URL: settings.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TRACKER_GROUP_ID: context.name(`overspend-${run}`),
      RECONCILE_INTERVAL_MS: "0",
      ...settings.serviceEnv,
    },
  });
  let producer: LoadProducer | undefined;
  const serving = createServingClient({ redis: context.redis, prefix });
  try {
    producer = await loadProducer(context.kafka, topic);
    const stream = generateStream({
      seed: settings.seed + run,
      events: advertisers + rate * settings.overspendSeconds,
      advertisers,
      zipfExponent: 0,
      startMs: Date.now(),
      intervalMs: 1000 / rate,
      budgetMicros: { min: settings.overspendBudgetMicros, max: settings.overspendBudgetMicros },
      shares: { duplicate: 0, malformed: 0, late: 0, future: 0, invalid: 0, budgetUpdate: 0, outOfOrder: 0 },
      seedShapeShare: 0,
      numericIdShare: 0,
      initialBudgets: true,
      runId: `bench-over-${run}`,
    });
    // The budgets first; serving starts once the tracker knows every advertiser.
    const budgets: GeneratedRecord[] = [];
    const ids: string[] = [];
    for (let i = 0; i < advertisers; i++) {
      const next = stream.next();
      if (next.done === true) break;
      budgets.push({ ...next.value, timestampMs: Date.now() });
      if (next.value.key !== null) ids.push(next.value.key);
    }
    await producer.send(budgets);
    await waitFor("the tracker to apply the budgets", async () => {
      const states = await context.redis
        .pipeline(ids.map((id) => ["hget", advertiserKey(id, prefix), "can_serve"]))
        .exec();
      return (states ?? []).every(([error, value]) => error === null && value === "1");
    });

    const started = Date.now();
    const deadline = started + settings.overspendSeconds * 1000;
    let emitted = 0;
    let sent = 0;
    let gated = 0;
    let exhaustedAt = 0;
    const inFlight: Promise<unknown>[] = [];
    while (Date.now() < deadline) {
      const due = Math.floor(((Date.now() - started) * rate) / 1000) + 1;
      const clicks: GeneratedRecord[] = [];
      let bytes = 0;
      for (; emitted < due && bytes < MAX_SEND_BYTES; emitted++) {
        const next = stream.next();
        if (next.done === true) break;
        clicks.push(next.value);
        bytes += next.value.value.byteLength + 80;
      }
      const asked = [...new Set(clicks.map((c) => c.key).filter((k): k is string => k !== null))];
      const canServe = await serving.canServeMany(asked);
      const now = Date.now();
      const messages = clicks
        .filter((c) => c.key !== null && canServe.get(c.key) === true)
        .map((c) => ({ ...c, timestampMs: now }));
      gated += clicks.length - messages.length;
      if (messages.length > 0) {
        sent += messages.length;
        inFlight.push(producer.send(messages));
        if (inFlight.length >= 8) await inFlight.shift();
      }
      if (sent > 0 && messages.length === 0 && clicks.length > 0) {
        const all = await serving.canServeMany(ids);
        if ([...all.values()].every((serves) => !serves)) {
          exhaustedAt = Date.now();
          break;
        }
      }
      if (emitted >= due) await sleep(TICK_MS);
    }
    const offeredPerSecond = emitted / ((Date.now() - started) / 1000);
    await Promise.all(inFlight);
    const ends = await endOffsets(context.kafka, topic);
    await waitFor("the tracker to apply every click", async () =>
      reached(await trackerProgress(context.redis, prefix, topic), ends),
    );
    const lag = await tracker.latency({ windows: [[started, Date.now()]] });
    let budgetTotal = 0;
    let overspendTotal = 0;
    let worstShare = 0;
    let exhausted = 0;
    const states = await context.redis
      .pipeline(
        ids.map((id) => ["hmget", advertiserKey(id, prefix), "net_micros", "budget_micros", "can_serve"]),
      )
      .exec();
    for (const [error, value] of states ?? []) {
      if (error !== null) throw error;
      const [net, budget, canServe] = (value as (string | null)[]).map((v) => Number(v ?? 0));
      const over = Math.max(0, (net ?? 0) - (budget ?? 0));
      budgetTotal += budget ?? 0;
      overspendTotal += over;
      if ((budget ?? 0) > 0) worstShare = Math.max(worstShare, over / (budget ?? 1));
      if (canServe === 0) exhausted++;
    }
    return {
      advertisers: ids.length,
      exhausted,
      budgetMicros: budgetTotal,
      overspendMicros: overspendTotal,
      share: budgetTotal === 0 ? Number.NaN : overspendTotal / budgetTotal,
      worstShare,
      clicksSent: sent,
      clicksGated: gated,
      secondsToExhaustAll: exhaustedAt === 0 ? Number.NaN : (exhaustedAt - started) / 1000,
      offeredPerSecond,
      applyLagMs: lag.overall,
    };
  } finally {
    await serving.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await tracker.stop();
    await deletePrefix(context.redis, prefix);
    await removeTopic(context.kafka, topic);
  }
}

export const overspendPart: BenchPart = {
  name: PART,
  description: "high click rate against small budgets: valid spend that lands after a budget is exhausted",
  async run(context) {
    const { settings, report } = context;
    const runs: OverspendRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const result = await overspendOnce(context, run);
      context.log(
        `overspend run ${run}: ${(result.overspendMicros / 1e6).toFixed(2)} units over ${(result.budgetMicros / 1e6).toFixed(0)} budgeted (${(result.share * 100).toFixed(2)} %), worst advertiser ${(result.worstShare * 100).toFixed(1)} %, ${result.exhausted}/${result.advertisers} exhausted after ${result.secondsToExhaustAll.toFixed(1)} s, ${Math.round(result.offeredPerSecond).toLocaleString("en-US")} clicks/s offered, produce → apply p99 ${Math.round(result.applyLagMs.p99)} ms`,
      );
      runs.push(result);
    }
    const rate = settings.overspendRate.toLocaleString("en-US");
    const budget = (settings.overspendBudgetMicros / 1e6).toLocaleString("en-US");
    report.add({
      id: "overspend.money",
      part: PART,
      label: `spend after exhaustion, ${settings.overspendAdvertisers} advertisers × budget ${budget}, ${rate} clicks/s`,
      unit: "units",
      better: "lower",
      runs: runs.map((r) => r.overspendMicros / 1e6),
    });
    report.add({
      id: "overspend.share",
      part: PART,
      label: "spend after exhaustion as a share of the budgets",
      unit: "%",
      better: "lower",
      runs: runs.map((r) => r.share * 100),
    });
    report.add({
      id: "overspend.worst_share",
      part: PART,
      label: "worst advertiser's spend after exhaustion / its budget",
      unit: "%",
      better: "lower",
      runs: runs.map((r) => r.worstShare * 100),
    });
    report.add({
      id: "overspend.apply_p99",
      part: PART,
      label: "produce → Redis apply p99 during those runs (the lag behind the overspend)",
      unit: "ms",
      better: "lower",
      runs: runs.map((r) => r.applyLagMs.p99),
    });
    report.detail(PART, "runs", runs);
    report.detail(
      PART,
      "gate",
      "serving client canServeMany before each 10 ms batch of clicks (no local cache)",
    );
  },
};
