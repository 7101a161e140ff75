import { setTimeout as sleep } from "node:timers/promises";
import { type ScaledClock, scaledClockAt } from "@adpipe/budget-tracker";
import {
  formatIsoUtc,
  type GeneratedRecord,
  microsToNumberString,
  Prng,
  pacingTargetFraction,
} from "@adpipe/core";
import { advertiserKey, createServingClient, type ServingClient } from "@adpipe/serving-client";
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
import { type ServiceHandle, startService } from "../lib/services.js";
import { quantile } from "../lib/stats.js";

const PART = "pacing";
const DAY_MS = 86_400_000;
/** The ad servers' tick (wall ms): offers due are decided in one Redis round trip, due clicks produced. */
const TICK_MS = 50;
/** A served impression's click comes uniformly 0..CLICK_DELAY_MS (wall) later. */
const CLICK_DELAY_MS = 200;
/** Wall seconds between the tracker's start and the budget day's start (tracker start-up, budgets applied). */
const LEAD_SECONDS = 45;

/**
 * Offered impressions per wall second at day fraction x: front-loaded, 1.6× the mean at midnight falling
 * linearly to 0.4× at the end (mean 1×).
 */
export function offerRate(meanPerSecond: number, dayFraction: number): number {
  return meanPerSecond * (1.6 - 1.2 * Math.min(1, Math.max(0, dayFraction)));
}

export interface PacingFigures {
  readonly advertisers: number;
  /** Per advertiser: max |cumulative spend − target curve| over the day, % of its budget. */
  readonly maxDeviationPct: readonly number[];
  /** Per advertiser: spend at period end, % of its budget. */
  readonly spentPct: readonly number[];
}

const fixed = (value: number) => value.toFixed(2);

/** The two lines the issue asks for. */
export function pacingLines(figures: PacingFigures): string[] {
  const dev = [...figures.maxDeviationPct].sort((a, b) => a - b);
  const spent = [...figures.spentPct].sort((a, b) => a - b);
  return [
    `pacing max deviation: p50 ${fixed(quantile(dev, 0.5))} p99 ${fixed(quantile(dev, 0.99))} max ${fixed(dev.at(-1) ?? Number.NaN)} % of budget (goal <= 5 %)`,
    `pacing spent at period end: min ${fixed(spent[0] ?? Number.NaN)} p50 ${fixed(quantile(spent, 0.5))} % (goal >= 97 %)`,
  ];
}

const encoder = new TextEncoder();

function advertiserId(index: number): string {
  return `paced-${String(index).padStart(4, "0")}`;
}

function budgetRecord(id: string, budgetMicros: number, atMs: number): GeneratedRecord {
  const json = `{"event_type":"budget_update","advertiser_id":${JSON.stringify(id)},"budget_value":${microsToNumberString(budgetMicros)},"pacing":"even","timestamp":"${formatIsoUtc(atMs)}"}`;
  return { key: id, value: encoder.encode(json), timestampMs: atMs, kind: "budget_update" };
}

function clickRecord(id: string, clickId: string, costMicros: number, atMs: number): GeneratedRecord {
  const json = `{"event_type":"ad_click","click_id":"${clickId}","advertiser_id":${JSON.stringify(id)},"ad_id":"ad-1","amount":${microsToNumberString(costMicros)},"timestamp":"${formatIsoUtc(atMs)}"}`;
  return { key: id, value: encoder.encode(json), timestampMs: atMs, kind: "click" };
}

interface Pending {
  readonly wallMs: number;
  readonly advertiser: number;
  readonly costMicros: number;
  readonly clickId: string;
}

/**
 * The paced ad servers: every tick the offers due at the front-loaded rate are decided with one getMany; an
 * offer is served when can_serve is true, with probability serve_fraction; its click follows 0..200 ms later,
 * stamped with the budget clock (never past the day's last millisecond). The ledger follows the cumulative spend
 * of every advertiser against the even target curve.
 */
class PacedAdServers {
  readonly spent: number[];
  readonly maxDeviation: number[];
  offers = 0;
  served = 0;
  private readonly rng: Prng;
  private pending: Pending[] = [];

  constructor(
    private readonly options: {
      readonly advertisers: number;
      readonly budgetMicros: number;
      readonly minCostMicros: number;
      readonly maxCostMicros: number;
      readonly dayStartMs: number;
      readonly clock: ScaledClock;
      readonly seed: number;
      readonly runId: string;
    },
    private readonly client: ServingClient,
  ) {
    this.rng = new Prng(options.seed);
    this.spent = new Array(options.advertisers).fill(0);
    this.maxDeviation = new Array(options.advertisers).fill(0);
  }

  budgetNow(wallMs: number): number {
    return scaledClockAt(this.options.clock, wallMs);
  }

  /** Every advertiser's deviation from the target at budget time `atMs`. */
  observe(atMs: number): void {
    const { budgetMicros, dayStartMs } = this.options;
    const fraction = pacingTargetFraction("even", dayStartMs, dayStartMs + DAY_MS, atMs);
    const target = Math.floor(budgetMicros * fraction);
    for (let i = 0; i < this.spent.length; i++) {
      const deviation = Math.abs((this.spent[i] as number) - target);
      if (deviation > (this.maxDeviation[i] as number)) this.maxDeviation[i] = deviation;
    }
  }

  async decide(count: number, wallMs: number): Promise<void> {
    if (count === 0) return;
    const offers = Array.from({ length: count }, () => ({
      advertiser: this.rng.int(0, this.options.advertisers - 1),
      costMicros: this.rng.int(this.options.minCostMicros, this.options.maxCostMicros),
    }));
    const ids = [...new Set(offers.map((offer) => advertiserId(offer.advertiser)))];
    const states = await this.client.getMany(ids);
    for (const offer of offers) {
      this.offers += 1;
      const state = states.get(advertiserId(offer.advertiser));
      if (state === null || state === undefined || !state.canServe) continue;
      if (this.rng.next() >= state.serveFraction) continue;
      this.served += 1;
      this.pending.push({
        wallMs: wallMs + this.rng.int(0, CLICK_DELAY_MS),
        advertiser: offer.advertiser,
        costMicros: offer.costMicros,
        clickId: `${this.options.runId}-${this.served.toString(36)}`,
      });
    }
  }

  /** The clicks due at wall time `wallMs` (all with Infinity), stamped with the budget clock. */
  due(wallMs: number): GeneratedRecord[] {
    const dayEnd = this.options.dayStartMs + DAY_MS - 1;
    const records: GeneratedRecord[] = [];
    const left: Pending[] = [];
    const atMs = Math.min(dayEnd, this.budgetNow(Number.isFinite(wallMs) ? wallMs : Date.now()));
    for (const click of this.pending) {
      if (click.wallMs > wallMs) {
        left.push(click);
        continue;
      }
      this.spent[click.advertiser] = (this.spent[click.advertiser] as number) + click.costMicros;
      records.push(clickRecord(advertiserId(click.advertiser), click.clickId, click.costMicros, atMs));
    }
    this.pending = left;
    if (records.length > 0) this.observe(atMs);
    return records;
  }

  get pendingClicks(): number {
    return this.pending.length;
  }
}

/** One run: a fresh topic, prefix and tracker on a scaled budget clock; one budget day of front-loaded offers. */
export async function pacingRun(context: BenchContext): Promise<PacingFigures> {
  const { settings } = context;
  const topic = context.name("pacing");
  const prefix = `bench:${settings.tag}:pacing:`;
  const advertisers = settings.pacingAdvertisers;
  const scale = DAY_MS / 1000 / settings.pacingDaySeconds;
  const anchorMs = Date.now();
  // The budget day ends before the wall clock's now: every record timestamp lies in the past, as brokers expect.
  const dayStartMs = Math.floor(anchorMs / DAY_MS) * DAY_MS - DAY_MS;
  const clock: ScaledClock = {
    scale,
    originMs: dayStartMs - LEAD_SECONDS * 1000 * scale,
    anchorMs,
    stopMs: dayStartMs + DAY_MS - 1,
  };
  await createTopic(context.kafka, topic, settings.partitions);
  const trackerEnv = {
    KAFKA_BROKERS: settings.kafkaBrokers,
    KAFKA_TOPIC: topic,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    TRACKER_GROUP_ID: context.name("pacing"),
    RECONCILE_INTERVAL_MS: "0",
    PACING_CHECK_INTERVAL_MS: "250",
    PACING_TOLERANCE_PCT: String(settings.pacingTolerancePct),
    BUDGET_CLOCK_TEST_ONLY: "true",
    BUDGET_CLOCK_SCALE: String(scale),
    BUDGET_CLOCK_ORIGIN_MS: String(clock.originMs),
    BUDGET_CLOCK_ANCHOR_MS: String(clock.anchorMs),
    BUDGET_CLOCK_STOP_MS: String(clock.stopMs),
    ...settings.serviceEnv,
  };
  let tracker: ServiceHandle | undefined;
  let producer: LoadProducer | undefined;
  const serving = createServingClient({ redis: context.redis, prefix });
  try {
    tracker = await startService("tracker", { mode: settings.mode, env: trackerEnv });
    producer = await loadProducer(context.kafka, topic);
    const servers = new PacedAdServers(
      {
        advertisers,
        budgetMicros: settings.pacingBudgetMicros,
        minCostMicros: settings.pacingMinCostMicros,
        maxCostMicros: settings.pacingMaxCostMicros,
        dayStartMs,
        clock,
        seed: settings.seed,
        runId: settings.tag,
      },
      serving,
    );
    const ids = Array.from({ length: advertisers }, (_, i) => advertiserId(i));
    const budgetAt = servers.budgetNow(Date.now());
    await producer.send(ids.map((id) => budgetRecord(id, settings.pacingBudgetMicros, budgetAt)));
    await waitFor("the tracker to apply the budgets", async () => {
      const states = await context.redis
        .pipeline(ids.map((id) => ["hget", advertiserKey(id, prefix), "pacing"]))
        .exec();
      return (states ?? []).every(([error, value]) => error === null && value === "even");
    });
    const dayStartWall = anchorMs + LEAD_SECONDS * 1000;
    const late = Date.now() - dayStartWall;
    if (late > 0) {
      const note = `pacing: set-up took ${((late + LEAD_SECONDS * 1000) / 1000).toFixed(1)} s, the day had begun ${(late / 1000).toFixed(1)} s (wall) before offering: the advertisers start behind the curve`;
      context.log(`WARNING ${note}`);
      context.report.notes.push(note);
    } else {
      await sleep(-late);
    }
    context.log(
      `pacing: a budget day of ${settings.pacingDaySeconds} s (clock ×${scale}), ${advertisers} advertisers, ${settings.pacingRate} offers/s on average, front-loaded`,
    );

    const dayEndWall = dayStartWall + settings.pacingDaySeconds * 1000;
    const sends: Promise<void>[] = [];
    const sink = producer;
    let offeredUntil = Math.max(Date.now(), dayStartWall);
    let owed = 0;
    let lastLog = Date.now();
    while (Date.now() < dayEndWall) {
      const wallMs = Date.now();
      const fraction = (wallMs - dayStartWall) / (dayEndWall - dayStartWall);
      owed += (offerRate(settings.pacingRate, fraction) * (wallMs - offeredUntil)) / 1000;
      offeredUntil = wallMs;
      const count = Math.floor(owed);
      owed -= count;
      await servers.decide(count, wallMs);
      const records = servers.due(wallMs);
      if (records.length > 0) sends.push(sink.send(records));
      if (sends.length > 8) await sends.shift();
      servers.observe(Math.min(clock.stopMs ?? Number.POSITIVE_INFINITY, servers.budgetNow(wallMs)));
      if (wallMs - lastLog > 30_000) {
        lastLog = wallMs;
        const mean = servers.spent.reduce((a, b) => a + b, 0) / advertisers;
        context.log(
          `pacing: ${(fraction * 100).toFixed(0)} % of the day, mean spend ${((mean / settings.pacingBudgetMicros) * 100).toFixed(1)} % of budget, ${servers.served} of ${servers.offers} offers served`,
        );
      }
      await sleep(TICK_MS);
    }
    while (servers.pendingClicks > 0) {
      const records = servers.due(Date.now() + CLICK_DELAY_MS);
      if (records.length > 0) sends.push(sink.send(records));
    }
    await Promise.all(sends);
    const ends = await endOffsets(context.kafka, topic);
    await waitFor(
      "the tracker to apply every click",
      async () => reached(await trackerProgress(context.redis, prefix, topic), ends),
      { timeoutMs: 300_000 },
    );
    // The tracker's clock stopped at the day's last millisecond: its hashes still hold the day's spend.
    const states = await serving.getMany(ids);
    const problems: string[] = [];
    ids.forEach((id, i) => {
      const net = states.get(id)?.netMicros;
      if (net !== servers.spent[i]) problems.push(`${id}: net ${net} in Redis, ${servers.spent[i]} served`);
    });
    if (problems.length > 0)
      throw new Error(
        `pacing: Redis disagrees with what the ad servers served (${problems.length} advertisers), e.g.\n  ${problems.slice(0, 5).join("\n  ")}`,
      );
    const budget = settings.pacingBudgetMicros;
    return {
      advertisers,
      maxDeviationPct: servers.maxDeviation.map((micros) => (micros / budget) * 100),
      spentPct: servers.spent.map((micros) => (micros / budget) * 100),
    };
  } finally {
    await serving.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await tracker?.stop();
    await deletePrefix(context.redis, prefix);
    await removeTopic(context.kafka, topic);
  }
}

export const pacingPart: BenchPart = {
  name: PART,
  description:
    "even pacing of 100 advertisers over a budget day compressed to 10 minutes (test-only BUDGET_CLOCK_SCALE), front-loaded traffic",
  async run(context) {
    const { settings, report } = context;
    const figures = await pacingRun(context);
    const lines = pacingLines(figures);
    if (!settings.quiet) for (const line of lines) console.log(line);
    report.add({
      id: "pacing.max_deviation_p99",
      part: PART,
      label: "even pacing: max deviation from the target curve, p99 of advertisers",
      unit: "%",
      better: "lower",
      runs: [
        quantile(
          [...figures.maxDeviationPct].sort((a, b) => a - b),
          0.99,
        ),
      ],
    });
    report.add({
      id: "pacing.spent_min",
      part: PART,
      label: "even pacing: budget spent at period end, lowest advertiser",
      unit: "%",
      better: "higher",
      runs: [Math.min(...figures.spentPct)],
    });
    report.detail(PART, "lines", lines);
    report.detail(PART, "figures", figures);
    report.detail(PART, "stream", {
      advertisers: settings.pacingAdvertisers,
      daySeconds: settings.pacingDaySeconds,
      meanOffersPerSecond: settings.pacingRate,
      budgetMicros: settings.pacingBudgetMicros,
      costMicros: [settings.pacingMinCostMicros, settings.pacingMaxCostMicros],
      tolerancePct: settings.pacingTolerancePct,
    });
  },
};
