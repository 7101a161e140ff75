import { setTimeout as sleep } from "node:timers/promises";
import { BUDGET_MODES, type BudgetMode } from "@adpipe/core";
import { advertiserKey, createServingClient } from "@adpipe/serving-client";
import {
  AdServer,
  budgetRecord,
  OfferStream,
  runOffers,
  twinAdvertiserId,
  units,
} from "../lib/ad-servers.js";
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
import type { LatencySummary } from "../lib/stats.js";

const PART = "overspend";

export const OVERSPEND_SCENARIOS = ["steady", "paused", "killed"] as const;
export type OverspendScenario = (typeof OVERSPEND_SCENARIOS)[number];

/** The tracker's fault, in ms since the offering began. */
interface Fault {
  readonly kind: string;
  readonly atMs: number;
  readonly endedAtMs: number;
}

/** One line of the part's output: one mode in one scenario. */
export interface OverspendOutcome {
  readonly mode: BudgetMode;
  readonly scenario: OverspendScenario;
  readonly advertisers: number;
  readonly budgetMicros: number;
  /** Served beyond budget: observe Σ max(0, net − budget); hard_cap Σ over_cap (what billing refused). */
  readonly beyondMicros: number;
  /** Budget left unused at the end: Σ max(0, budget − net). */
  readonly unusedMicros: number;
  readonly worstShare: number;
  readonly offers: number;
  readonly grants: number;
  readonly refused: number;
  readonly clicks: number;
}

export interface OverspendScenarioRun {
  readonly scenario: OverspendScenario;
  readonly outcomes: readonly OverspendOutcome[];
  /** Offers per second the loop achieved (each offer goes to both ad servers). */
  readonly offeredPerSecond: number;
  readonly offeringSeconds: number;
  /** Offered demand (Σ costs of the offers) / the budgets of one mode. */
  readonly demandFactor: number;
  readonly fault: Fault | null;
  /** produce → Redis apply of the clicks the last tracker process applied. */
  readonly applyLagMs: LatencySummary;
}

/** `overspend <mode> <scenario>: <micros> micros (<percent> % of budgets), unused <percent> %, grants <n>, refused <n>` */
export function overspendLine(outcome: OverspendOutcome): string {
  const percent = (micros: number) =>
    outcome.budgetMicros === 0 ? "NaN" : ((micros / outcome.budgetMicros) * 100).toFixed(2);
  return `overspend ${outcome.mode} ${outcome.scenario}: ${outcome.beyondMicros} micros (${percent(outcome.beyondMicros)} % of budgets), unused ${percent(outcome.unusedMicros)} %, grants ${outcome.grants}, refused ${outcome.refused}`;
}

interface TwinState {
  readonly net: number;
  readonly overCap: number;
  readonly budget: number;
  readonly mode: string | null;
  /** Reservations still outstanding (hard_cap). */
  readonly reserved: number;
}

async function readTwins(context: BenchContext, prefix: string, ids: readonly string[]) {
  const replies = await context.redis
    .pipeline(
      ids.map((id) => [
        "hmget",
        advertiserKey(id, prefix),
        "net_micros",
        "over_cap_micros",
        "budget_micros",
        "mode",
        "reserved_micros",
      ]),
    )
    .exec();
  const states = new Map<string, TwinState>();
  ids.forEach((id, i) => {
    const [error, value] = replies?.[i] ?? [new Error("no reply"), null];
    if (error !== null) throw error;
    const [net, overCap, budget, mode, reserved] = value as (string | null)[];
    states.set(id, {
      net: Number(net ?? 0),
      overCap: Number(overCap ?? 0),
      budget: Number(budget ?? 0),
      mode: mode ?? null,
      reserved: Number(reserved ?? 0),
    });
  });
  return states;
}

/**
 * The outcome of one ad server, from the advertiser hashes the tracker wrote, checked against the server's own
 * ledger: net + over_cap of every advertiser must equal what was served for it (the tracker lost and doubled
 * nothing), every twin must be in its mode (the tracker read budget_mode), and no reservation may be left
 * outstanding (every click settled its own). A failed check throws: figures the bench cannot vouch for are not
 * printed.
 */
function outcomeOf(
  server: AdServer,
  scenario: OverspendScenario,
  states: ReadonlyMap<string, TwinState>,
  advertisers: number,
): OverspendOutcome {
  let budgetMicros = 0;
  let beyondMicros = 0;
  let unusedMicros = 0;
  let worstShare = 0;
  const problems: string[] = [];
  for (let i = 0; i < advertisers; i++) {
    const id = twinAdvertiserId(server.mode, i);
    const state = states.get(id);
    if (state === undefined) throw new Error(`no state read for ${id}`);
    const served = server.tally.served.get(id) ?? 0;
    if (state.net + state.overCap !== served)
      problems.push(`${id}: net ${state.net} + over_cap ${state.overCap} µ, served ${served} µ`);
    if ((state.mode ?? "observe") !== server.mode)
      problems.push(`${id}: mode ${state.mode} in Redis, budget_update said ${server.mode}`);
    if (state.reserved !== 0) problems.push(`${id}: ${state.reserved} µ still reserved after every click`);
    const beyond = server.mode === "hard_cap" ? state.overCap : Math.max(0, state.net - state.budget);
    budgetMicros += state.budget;
    beyondMicros += beyond;
    unusedMicros += Math.max(0, state.budget - state.net);
    if (state.budget > 0) worstShare = Math.max(worstShare, beyond / state.budget);
  }
  if (problems.length > 0)
    throw new Error(
      `overspend ${server.mode} ${scenario}: Redis disagrees with what the ad server served (${problems.length} advertisers), e.g.\n  ${problems.slice(0, 5).join("\n  ")}`,
    );
  return {
    mode: server.mode,
    scenario,
    advertisers,
    budgetMicros,
    beyondMicros,
    unusedMicros,
    worstShare,
    offers: server.tally.offers,
    grants: server.tally.grants,
    refused: server.tally.refused,
    clicks: server.tally.clicks,
  };
}

/**
 * One scenario: a fresh topic, prefix and tracker; both ad servers on the same offered stream until the
 * offered demand is `overspendDemandFactor` × the budgets (and `overspendSettleSeconds` past the fault); the
 * scenario's fault on the tracker once the demand reached `overspendFaultAtShare` of the budgets; then every
 * served click produced, the tracker caught up to the end offsets, and the advertiser hashes read.
 */
async function scenarioRun(
  context: BenchContext,
  scenario: OverspendScenario,
): Promise<OverspendScenarioRun> {
  const { settings } = context;
  const topic = context.name(`overspend-${scenario}`);
  const prefix = `bench:${settings.tag}:over-${scenario}:`;
  const advertisers = settings.overspendAdvertisers;
  const rate = settings.overspendRate;
  await createTopic(context.kafka, topic, settings.partitions);
  const trackerEnv = {
    KAFKA_BROKERS: settings.kafkaBrokers,
    KAFKA_TOPIC: topic,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    TRACKER_GROUP_ID: context.name(`overspend-${scenario}`),
    RECONCILE_INTERVAL_MS: "0",
    // The broker's minimum: the killed member's partitions move 6 s after the kill, not 30 s.
    TRACKER_SESSION_TIMEOUT_MS: "6000",
    ...settings.serviceEnv,
  };
  const startTracker = () =>
    startService("tracker", { mode: settings.mode, recordLatency: true, env: trackerEnv });
  let tracker: ServiceHandle = await startTracker();
  let producer: LoadProducer | undefined;
  // The topic names the tracker state guard the reservation script checks.
  const serving = createServingClient({ redis: context.redis, prefix, topic });
  try {
    producer = await loadProducer(context.kafka, topic);
    const sink = producer;
    const offers = new OfferStream({
      seed: settings.seed,
      advertisers,
      minCostMicros: settings.overspendMinCostMicros,
      maxCostMicros: settings.overspendMaxCostMicros,
    });
    const servers = BUDGET_MODES.map(
      (mode, i) =>
        new AdServer(
          {
            mode,
            runId: `${settings.tag}-${scenario}`,
            maxCostMicros: settings.overspendMaxCostMicros,
            ttlMs: settings.overspendReservationTtlMs,
            clickDelayMs: settings.overspendClickDelayMs,
            seed: settings.seed + 1 + i,
          },
          serving,
        ),
    );

    // Budgets (and modes) first; serving starts once the tracker knows every twin.
    const now = Date.now();
    const ids = servers.flatMap((server) =>
      Array.from({ length: advertisers }, (_, i) => twinAdvertiserId(server.mode, i)),
    );
    await producer.send(
      servers.flatMap((server) =>
        Array.from({ length: advertisers }, (_, i) =>
          budgetRecord(twinAdvertiserId(server.mode, i), settings.overspendBudgetMicros, server.mode, now),
        ),
      ),
    );
    await waitFor("the tracker to apply the budgets", async () => {
      const states = await context.redis
        .pipeline(ids.map((id) => ["hget", advertiserKey(id, prefix), "can_serve"]))
        .exec();
      return (states ?? []).every(([error, value]) => error === null && value === "1");
    });

    const started = Date.now();
    const budgetsMicros = advertisers * settings.overspendBudgetMicros;
    let faultEndedAtMs: number | null = null;
    const injectFault = async (): Promise<Fault> => {
      const atMs = Date.now();
      if (scenario === "paused") {
        tracker.freeze(true);
        await sleep(settings.overspendPauseSeconds * 1000);
        tracker.freeze(false);
      } else {
        await tracker.kill();
        tracker = await startTracker();
      }
      faultEndedAtMs = Date.now();
      const fault = {
        kind: scenario === "paused" ? "SIGSTOP, SIGCONT" : "SIGKILL, restart",
        atMs: atMs - started,
        endedAtMs: faultEndedAtMs - started,
      };
      context.log(
        `${scenario}: tracker ${fault.kind} at ${(fault.atMs / 1000).toFixed(1)} s, back after ${((fault.endedAtMs - fault.atMs) / 1000).toFixed(1)} s`,
      );
      return fault;
    };
    let faultDone: Promise<Fault> | null = null;
    const offering = await runOffers({
      servers,
      offers,
      ratePerSecond: rate,
      keepOffering: (progress) => {
        if (
          scenario !== "steady" &&
          faultDone === null &&
          progress.offeredMicros >= settings.overspendFaultAtShare * budgetsMicros
        ) {
          faultDone = injectFault();
          // Awaited after the offering; until then a failed restart must not be an unhandled rejection.
          faultDone.catch(() => undefined);
        }
        if (progress.elapsedMs >= settings.overspendSeconds * 1000) return false;
        if (progress.offeredMicros < settings.overspendDemandFactor * budgetsMicros) return true;
        if (scenario === "steady") return false;
        return (
          faultEndedAtMs === null || Date.now() < faultEndedAtMs + settings.overspendSettleSeconds * 1000
        );
      },
      send: (records) => sink.send(records),
    });
    const fault = faultDone === null ? null : await (faultDone as Promise<Fault>);
    const demandFactor = offering.offeredMicros / budgetsMicros;
    if (demandFactor < settings.overspendDemandFactor || (scenario !== "steady" && fault === null))
      context.log(
        `${scenario}: WARNING the loop offered only ${demandFactor.toFixed(2)}× the budgets in ${settings.overspendSeconds} s (${Math.round(offering.offered / (offering.elapsedMs / 1000))} offers/s)${fault === null && scenario !== "steady" ? "; the fault was never injected" : ""}: the machine is too busy for this rate`,
      );
    const ends = await endOffsets(context.kafka, topic);
    await waitFor(
      "the tracker to apply every click",
      async () => reached(await trackerProgress(context.redis, prefix, topic), ends),
      { timeoutMs: 300_000 },
    );
    const lag = await tracker.latency({ windows: [[started, Date.now()]] });
    const states = await readTwins(context, prefix, ids);
    return {
      scenario,
      outcomes: servers.map((server) => outcomeOf(server, scenario, states, advertisers)),
      offeredPerSecond: offering.offered / (offering.elapsedMs / 1000),
      offeringSeconds: offering.elapsedMs / 1000,
      demandFactor,
      fault,
      applyLagMs: lag.overall,
    };
  } finally {
    await serving.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    tracker.freeze(false);
    await tracker.stop();
    await deletePrefix(context.redis, prefix);
    await removeTopic(context.kafka, topic);
  }
}

export const overspendPart: BenchPart = {
  name: PART,
  description:
    "observe (can_serve) and hard_cap (reservations) ad servers on one offered stream: steady, tracker paused, tracker killed",
  async run(context) {
    const { settings, report } = context;
    const runs: OverspendScenarioRun[] = [];
    for (const scenario of OVERSPEND_SCENARIOS) {
      const run = await scenarioRun(context, scenario);
      for (const outcome of run.outcomes)
        context.log(
          `${outcome.mode} ${scenario}: ${units(outcome.beyondMicros)} units beyond ${units(outcome.budgetMicros)} budgeted, worst advertiser ${(outcome.worstShare * 100).toFixed(1)} %, ${outcome.clicks} clicks`,
        );
      context.log(
        `${scenario}: ${Math.round(run.offeredPerSecond).toLocaleString("en-US")} offers/s achieved for ${run.offeringSeconds.toFixed(1)} s (demand ${run.demandFactor.toFixed(2)}× the budgets), produce → apply p99 ${Math.round(run.applyLagMs.p99)} ms (last tracker process)`,
      );
      runs.push(run);
      if (run.demandFactor < settings.overspendDemandFactor || (scenario !== "steady" && run.fault === null))
        report.notes.push(
          `overspend ${scenario}: only ${run.demandFactor.toFixed(2)}× the budgets offered (${Math.round(run.offeredPerSecond)} offers/s)${run.fault === null && scenario !== "steady" ? ", the fault never injected" : ""}: the machine could not offer the demand`,
        );
    }
    const lines = runs.flatMap((run) => run.outcomes.map(overspendLine));
    if (!settings.quiet) for (const line of lines) console.log(line);
    for (const run of runs) {
      for (const outcome of run.outcomes) {
        const id = `overspend.${outcome.mode}.${run.scenario}`;
        report.add({
          id: `${id}.beyond_share`,
          part: PART,
          label: `${outcome.mode}, ${run.scenario}: served beyond budget, share of budgets`,
          unit: "%",
          better: "lower",
          runs: [(outcome.beyondMicros / outcome.budgetMicros) * 100],
        });
        report.add({
          id: `${id}.unused_share`,
          part: PART,
          label: `${outcome.mode}, ${run.scenario}: budget unused at the end`,
          unit: "%",
          better: "lower",
          runs: [(outcome.unusedMicros / outcome.budgetMicros) * 100],
        });
      }
      report.add({
        id: `overspend.${run.scenario}.apply_p99`,
        part: PART,
        label: `${run.scenario}: produce → Redis apply p99 (last tracker process)`,
        unit: "ms",
        better: "lower",
        runs: [run.applyLagMs.p99],
      });
    }
    report.detail(PART, "lines", lines);
    report.detail(PART, "runs", runs);
    report.detail(PART, "stream", {
      advertisers: settings.overspendAdvertisers,
      offersPerSecond: settings.overspendRate,
      demandFactor: settings.overspendDemandFactor,
      settleSeconds: settings.overspendSettleSeconds,
      maxSeconds: settings.overspendSeconds,
      budgetMicros: settings.overspendBudgetMicros,
      costMicros: [settings.overspendMinCostMicros, settings.overspendMaxCostMicros],
      clickDelayMs: settings.overspendClickDelayMs,
      reservationTtlMs: settings.overspendReservationTtlMs,
      faultAtShare: settings.overspendFaultAtShare,
      pauseSeconds: settings.overspendPauseSeconds,
    });
  },
};
