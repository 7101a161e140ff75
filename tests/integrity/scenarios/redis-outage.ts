import { setTimeout as sleep } from "node:timers/promises";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { PrivateRedis } from "../support/private-redis.js";
import { closeProbedRun, type ProbedRun, settleProbedRun, startProbedRun } from "../support/probed-run.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

/**
 * Scenario 3: the tracker's Redis (a private redis-server without persistence) is SIGKILLed and started again
 * empty in the middle of a run, more than once. The tracker must notice the loss, rebuild from Postgres and
 * resume exactly; ad servers (serving clients failing closed, failing open, and with a local cache) must
 * meanwhile get either no answer, the configured SERVE_WHEN_UNKNOWN answer, or a state the advertiser really
 * went through — never a wrong number.
 */
export async function redisOutage(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.redisOutage;
  const startedAtMs = Date.now();
  const redis = await PrivateRedis.start();
  const pipeline = await Pipeline.create({ scenario: "redisloss", partitions: 4, redisUrl: redis.url });
  const monitor = new LagMonitor(pipeline);
  let run: ProbedRun | null = null;
  try {
    run = await startProbedRun(pipeline, monitor, {
      seed: profile.seed + 300,
      events: settings.events,
      runId: `rd${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    const { records, tracker, probe, production } = run;
    const faults: FaultRecord[] = [];
    const gaps: { unknownAnswers: number; failedLookups: number }[] = [];
    let burstRounds = 0;
    for (const [index, restart] of settings.restarts.entries()) {
      const share = (index + 1) / (settings.restarts.length + 1);
      await eventually(
        `${Math.round(share * 100)} % of the stream produced and applied`,
        async () =>
          production.stats.sent >= records.length * share && ((await pipeline.committed("tracker")) ?? 0) > 0,
        300_000,
      );
      const before = { unknown: probe.stats.unknown, errors: probe.stats.errors };
      const fault: FaultRecord = {
        kind: "redis-restart-empty",
        target: "redis-server (private, no persistence)",
        startedAtMs: Date.now(),
        endedAtMs: 0,
        recoveredAtMs: null,
        detail:
          `down ${restart.downMs} ms` +
          (restart.trackerStoppedMs > 0 ? `, tracker frozen until ${restart.trackerStoppedMs} ms after` : ""),
      };
      if (restart.trackerStoppedMs > 0) tracker.freeze(true);
      await redis.kill();
      await sleep(restart.downMs);
      await redis.restart();
      fault.endedAtMs = Date.now();
      faults.push(fault);
      const thaw =
        restart.trackerStoppedMs > 0
          ? sleep(restart.trackerStoppedMs).then(() => tracker.freeze(false))
          : null;
      // Ad servers look up back to back from the moment Redis is back until well after the rebuild.
      const [rounds] = await Promise.all([
        probe.burst(restart.trackerStoppedMs + 4_000),
        pipeline.awaitRecovery("tracker", fault),
        thaw,
      ]);
      burstRounds += rounds;
      gaps.push({
        unknownAnswers: probe.stats.unknown - before.unknown,
        failedLookups: probe.stats.errors - before.errors,
      });
      log(
        `redis restart ${index + 1} (${fault.detail}): tracker committed again ${(fault.recoveredAtMs ?? Number.NaN) - fault.endedAtMs} ms after; ${JSON.stringify(gaps.at(-1))}`,
      );
    }
    const lookups = await settleProbedRun(pipeline, monitor, run);
    const rebuilds = await tracker.metric("budget_tracker_rebuilds_total").catch(() => Number.NaN);
    const recoveries = await tracker.metric("budget_tracker_state_recoveries_total").catch(() => Number.NaN);
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "3-redis-loss",
      title: "Redis restarted empty (no persistence)",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        rebuilds,
        stateRecoveries: recoveries,
        trackerProcesses: pipeline.children.children.filter((c) => c.service === "budget-tracker").length,
        gaps,
        burstRounds,
        lookups,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    await closeProbedRun(pipeline, monitor, run);
    await redis.stop();
  }
}
