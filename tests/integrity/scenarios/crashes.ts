import { Prng } from "@adpipe/core";
import { chaosPlan, runChaos } from "../support/chaos.js";
import { producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";

/**
 * Scenario 1: SIGKILL the ingestor and the budget-tracker at seeded random moments while a stream is produced,
 * restarting each time; some kills land while the group rebalances because a replica joins or leaves.
 */
export async function crashes(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.crashes;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({ scenario: "crashes", partitions: settings.partitions });
  const monitor = new LagMonitor(pipeline);
  try {
    const records = liveStream({
      seed: profile.seed,
      events: settings.events,
      advertisers: settings.advertisers,
      runId: `crash${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    const production = producePaced(pipeline.kafka, pipeline.topic, records, settings.ratePerSecond);
    const faults: FaultRecord[] = [];
    const rng = new Prng(profile.seed ^ 0x5eed);
    const plans = {
      ingestor: chaosPlan(rng, settings.killsPerService, settings.rebalanceKillsPerService),
      tracker: chaosPlan(rng, settings.killsPerService, settings.rebalanceKillsPerService),
    };
    log(`producing ${records.length} records at ${settings.ratePerSecond}/s; plans ${JSON.stringify(plans)}`);
    await Promise.all([
      runChaos({
        pipeline,
        path: "ingestor",
        rng: new Prng(profile.seed + 1),
        plan: plans.ingestor,
        faults,
        pauseMs: [500, 8_000],
        log,
      }),
      runChaos({
        pipeline,
        path: "tracker",
        rng: new Prng(profile.seed + 2),
        plan: plans.tracker,
        faults,
        pauseMs: [500, 6_000],
        log,
      }),
      production.done,
    ]);
    log(
      `produced ${production.stats.sent} (send errors ${production.stats.sendErrors}); waiting for both paths`,
    );
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);
    const killedDuringProduction = faults.filter(
      (f) => production.stats.finishedAtMs === null || f.startedAtMs <= production.stats.finishedAtMs,
    ).length;
    return scenarioResult({
      scenario: "1-crashes",
      title: "SIGKILL ingestor and tracker (with rebalances)",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        kills: {
          ingestor: faults.filter((f) => f.target.startsWith("ingestor")).length,
          tracker: faults.filter((f) => f.target.startsWith("budget-tracker")).length,
          duringRebalance: faults.filter((f) => f.kind === "sigkill-during-rebalance").length,
          duringProduction: killedDuringProduction,
        },
        processesStarted: pipeline.children.children.length,
        // Start-up under load (spawn → first log line); a kill may land before it, like a crash at boot.
        slowestStartMs: Math.max(
          0,
          ...pipeline.children.children.map((c) => (c.firstOutputAtMs ?? c.startedAtMs) - c.startedAtMs),
        ),
        killedBeforeFirstLogLine: pipeline.children.children.filter(
          (c) => c.intentional && c.firstOutputAtMs === null,
        ).length,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    monitor.stop();
    await pipeline.close();
  }
}
