import { setTimeout as sleep } from "node:timers/promises";
import { BUDGET_MODES, type BudgetMode, type GeneratedRecord } from "@adpipe/core";
import { advertiserKey, createServingClient } from "@adpipe/serving-client";
import { Redis } from "ioredis";
import {
  AdServer,
  budgetRecord,
  OfferStream,
  runOffers,
  twinAdvertiserId,
} from "../../../bench/lib/ad-servers.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

const MAX_COST_MICROS = 2_000_000;
const MIN_COST_MICROS = 50_000;
const CLICK_DELAY_MS = 2_000;
const RESERVATION_TTL_MS = 30_000;
const MAX_EXAMPLES = 8;

/** One sample of every hard_cap hash, read in one MULTI (one instant of the Redis server). */
interface CapSample {
  readonly atMs: number;
  readonly violations: readonly string[];
}

/**
 * The invariant reservations keep at every instant for a hard_cap advertiser: billable net plus outstanding
 * reservations within the budget, and nothing over the cap. Read atomically for all advertisers at once.
 */
async function sampleCaps(redis: Redis, prefix: string, ids: readonly string[]): Promise<CapSample> {
  const multi = redis.multi();
  for (const id of ids)
    multi.hmget(
      advertiserKey(id, prefix),
      "net_micros",
      "reserved_micros",
      "budget_micros",
      "over_cap_micros",
    );
  const replies = (await multi.exec()) ?? [];
  const violations: string[] = [];
  ids.forEach((id, i) => {
    const [error, value] = replies[i] ?? [new Error("no reply"), null];
    if (error !== null) throw error;
    const [net, reserved, budget, overCap] = (value as (string | null)[]).map((v) => Number(v ?? 0));
    if ((net ?? 0) + (reserved ?? 0) > (budget ?? 0))
      violations.push(`${id}: net ${net} + reserved ${reserved} > budget ${budget}`);
    if ((overCap ?? 0) !== 0) violations.push(`${id}: over_cap ${overCap}`);
  });
  return { atMs: Date.now(), violations };
}

/**
 * Scenario 11: hard_cap advertisers behind reservation-gated ad servers while the budget-tracker is SIGKILLed
 * (and restarted) and frozen (SIGSTOP … SIGCONT) as their budgets run out. Observe twins see the same offers
 * through can_serve. Served over budget must be exactly 0 for every hard_cap advertiser, `net + reserved <=
 * budget` at every sampled instant, no reservation left outstanding once every click is applied, and every
 * store equal to the oracle (both modes).
 */
export async function hardCap(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.hardCap;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({ scenario: "hardcap", partitions: 4 });
  const monitor = new LagMonitor(pipeline);
  const redis = new Redis(pipeline.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  const producer = pipeline.kafka.producer({ allowAutoTopicCreation: false });
  const serving = createServingClient({ redis, prefix: pipeline.prefix, topic: pipeline.topic });
  try {
    await producer.connect();
    let sendErrors = 0;
    // A failed send is sent again in full: a copy that did land is a duplicate click_id, never counted twice.
    const send = async (records: readonly GeneratedRecord[]): Promise<void> => {
      for (;;) {
        try {
          await producer.send({
            topic: pipeline.topic,
            acks: -1,
            messages: records.map((r) => ({
              key: r.key,
              value: Buffer.from(r.value),
              timestamp: String(r.timestampMs),
            })),
          });
          return;
        } catch {
          sendErrors += 1;
          await sleep(250);
        }
      }
    };
    const offers = new OfferStream({
      seed: profile.seed + 1000,
      advertisers: settings.advertisers,
      minCostMicros: MIN_COST_MICROS,
      maxCostMicros: MAX_COST_MICROS,
    });
    const servers = BUDGET_MODES.map(
      (mode: BudgetMode, i) =>
        new AdServer(
          {
            mode,
            runId: `hc${profile.seed}`,
            maxCostMicros: MAX_COST_MICROS,
            ttlMs: RESERVATION_TTL_MS,
            clickDelayMs: CLICK_DELAY_MS,
            seed: profile.seed + 1001 + i,
          },
          serving,
        ),
    );
    // Budgets from 15 % to 85 % of the demand over the run: advertisers run out one after another, so the
    // faults land while budgets are being exhausted.
    const demandMicros =
      (settings.offersPerSecond / settings.advertisers) *
      (settings.durationMs / 1000) *
      offers.meanCostMicros;
    const budgets = Array.from({ length: settings.advertisers }, (_, i) =>
      Math.round(demandMicros * (0.15 + (0.7 * i) / Math.max(1, settings.advertisers - 1))),
    );
    const capIds = budgets.map((_, i) => twinAdvertiserId("hard_cap", i));

    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    const now = Date.now();
    await send(
      servers.flatMap((server) =>
        budgets.map((budget, i) => budgetRecord(twinAdvertiserId(server.mode, i), budget, server.mode, now)),
      ),
    );
    await eventually(
      "the tracker applied every budget",
      async () => {
        const ids = servers.flatMap((server) => budgets.map((_, i) => twinAdvertiserId(server.mode, i)));
        const values = await redis
          .pipeline(ids.map((id) => ["hget", advertiserKey(id, pipeline.prefix), "can_serve"]))
          .exec();
        return (values ?? []).every(([error, value]) => error === null && value === "1");
      },
      180_000,
    );

    // The invariant, sampled throughout (also while the tracker is dead or frozen).
    const samples: CapSample[] = [];
    let sampleErrors = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          samples.push(await sampleCaps(redis, pipeline.prefix, capIds));
        } catch {
          sampleErrors += 1;
        }
        await sleep(settings.sampleEveryMs);
      }
    })();

    // Faults evenly spread over the offering, kills and freezes alternating, each on a working tracker.
    const faults: FaultRecord[] = [];
    const faultCount = settings.kills + settings.pauses;
    const faulting = (async () => {
      let kills = 0;
      let pauses = 0;
      const offeringStarted = Date.now();
      for (let k = 1; k <= faultCount; k++) {
        await sleep(Math.max(0, offeringStarted + (settings.durationMs * k) / (faultCount + 1) - Date.now()));
        const kill = (kills < settings.kills && k % 2 === 1) || pauses >= settings.pauses;
        const victim = pipeline.instances("tracker")[0];
        if (victim === undefined) throw new Error("no tracker running");
        const fault: FaultRecord = {
          kind: kill ? "sigkill" : "sigstop",
          target: victim.label,
          startedAtMs: Date.now(),
          endedAtMs: 0,
          recoveredAtMs: null,
          ...(kill ? {} : { detail: `frozen ${settings.pauseMs} ms` }),
        };
        if (kill) {
          kills += 1;
          await victim.kill("SIGKILL");
          await pipeline.startTracker();
        } else {
          pauses += 1;
          victim.freeze(true);
          await sleep(settings.pauseMs);
          victim.freeze(false);
        }
        fault.endedAtMs = Date.now();
        faults.push(fault);
        await pipeline.awaitRecovery("tracker", fault);
        log(
          `fault ${k}/${faultCount}: ${fault.kind} ${fault.target} → committed again after ${(fault.recoveredAtMs ?? Number.NaN) - fault.endedAtMs} ms`,
        );
      }
    })();
    faulting.catch(() => undefined);

    const offering = await runOffers({
      servers,
      offers,
      ratePerSecond: settings.offersPerSecond,
      keepOffering: (progress) => progress.elapsedMs < settings.durationMs,
      send,
    });
    await faulting;
    log(
      `offered ${offering.offered} in ${(offering.elapsedMs / 1000).toFixed(1)} s; ${faults.length} faults; waiting for both paths`,
    );
    await pipeline.waitCaughtUp(600_000);
    sampling = false;
    await sampler;
    samples.push(await sampleCaps(redis, pipeline.prefix, capIds));
    monitor.stop();

    const verification = await verifyPipeline(pipeline);
    const capServer = servers.find((server) => server.mode === "hard_cap") as AdServer;
    const servedBeyondBudget = budgets.reduce(
      (sum, budget, i) => sum + Math.max(0, (capServer.tally.served.get(capIds[i] as string) ?? 0) - budget),
      0,
    );
    const states = await pipeline.store.readStates();
    const ledgerMismatches: string[] = [];
    for (const server of servers)
      for (let i = 0; i < settings.advertisers; i++) {
        const id = twinAdvertiserId(server.mode, i);
        const state = states.get(id);
        const served = server.tally.served.get(id) ?? 0;
        const counted = (state?.netMicros ?? 0) + (state?.overCapMicros ?? 0);
        if (counted !== served) ledgerMismatches.push(`${id}: counted ${counted} µ, served ${served} µ`);
        if (state?.mode !== server.mode)
          ledgerMismatches.push(`${id}: mode ${state?.mode}, set ${server.mode}`);
      }
    const reserved = await redis
      .pipeline(capIds.map((id) => ["hget", advertiserKey(id, pipeline.prefix), "reserved_micros"]))
      .exec();
    const reservedAtEnd = (reserved ?? []).reduce((sum, [, value]) => sum + Number(value ?? 0), 0);
    // Advertisers whose budget the hard_cap server filled to within one click's most possible cost.
    const filled = budgets.filter(
      (budget, i) => budget - (states.get(capIds[i] as string)?.netMicros ?? 0) < MAX_COST_MICROS,
    ).length;
    const violations = samples.flatMap((sample) => sample.violations);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "11-hard-cap",
      title: "hard_cap reservations, tracker SIGKILL and SIGSTOP",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        kills: faults.filter((f) => f.kind === "sigkill").length,
        pauses: faults.filter((f) => f.kind === "sigstop").length,
        servedBeyondBudgetMicros: servedBeyondBudget,
        overCapMicros: [...states.values()]
          .filter((s) => s.mode === "hard_cap")
          .reduce((sum, s) => sum + s.overCapMicros, 0),
        samples: samples.length,
        sampleErrors,
        invariantViolations: violations.slice(0, MAX_EXAMPLES),
        invariantViolationCount: violations.length,
        reservedAtEnd,
        ledgerMismatches: ledgerMismatches.slice(0, MAX_EXAMPLES),
        capAdvertisers: settings.advertisers,
        capFilled: filled,
        servers: Object.fromEntries(
          servers.map((s) => [
            s.mode,
            {
              offers: s.tally.offers,
              grants: s.tally.grants,
              refused: s.tally.refused,
              clicks: s.tally.clicks,
            },
          ]),
        ),
        sendErrors,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
      },
    });
  } finally {
    monitor.stop();
    await serving.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
    await pipeline.close();
  }
}
