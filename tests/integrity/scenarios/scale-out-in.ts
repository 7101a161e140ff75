import type { GeneratedRecord } from "@adpipe/core";
import type { IntegrityProfile } from "../profile.js";
import { allReady, GroupWatcher, REBALANCING } from "../support/chaos.js";
import type { ServiceChild } from "../support/children.js";
import {
  describeEfficiency,
  EfficiencyMeter,
  type PhaseEfficiency,
  summarize,
} from "../support/efficiency.js";
import { producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { lagOf, type PathName, Pipeline } from "../support/pipeline.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";

/** Records of the whole stream: warm-up, two warm-up backlogs, three measured backlogs, two scale steps. */
export function scaleEvents(settings: IntegrityProfile["scale"]): number {
  return (
    settings.warmUpEvents +
    (1 + settings.replicas) * settings.warmUpBurstPerReplica +
    3 * settings.burstEvents +
    2 * settings.transitionEvents
  );
}

const PATHS: readonly PathName[] = ["ingestor", "tracker"];
/** As fast as the suite's producer goes (one send of ≤ 500 records at a time, acks from all replicas). */
const UNPACED = 1_000_000_000;

export interface DrainPhase {
  readonly replicas: number;
  readonly records: number;
  /** How long the backlog took to produce (the consumers were frozen meanwhile). */
  readonly loadMs: number;
  readonly ingestor: PhaseEfficiency;
  readonly tracker: PhaseEfficiency;
}

/**
 * Scenario 10: one 12-partition topic, the ingestor and the budget-tracker scaled 1 → 3 → 1 while the stream is
 * produced: replicas join mid-stream (the groups rebalance onto them), then two of each are stopped gracefully
 * (SIGTERM: they finish their batch, commit and leave; the group rebalances their partitions onto the last one).
 *
 * Per-record CPU is measured three times, with one replica (before), three and one again (after): each time a
 * backlog is produced while every consumer is frozen (SIGSTOP), then they drain it at full speed, so every
 * replica works on full batches and the figure is its capacity, not its idle time at a paced rate. CPU time is
 * utime + stime of each process (/proc/<pid>/stat), records its own counter, over the time it was busy.
 */
export async function scaleOutIn(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.scale;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({
    scenario: "scale",
    partitions: settings.partitions,
    // Frozen consumers stay group members while a backlog is produced; a graceful leave still rebalances at once.
    ingestorEnv: { INGESTOR_SESSION_TIMEOUT_MS: "30000" },
    trackerEnv: { TRACKER_SESSION_TIMEOUT_MS: "30000" },
  });
  const monitor = new LagMonitor(pipeline);
  const watchers = {
    ingestor: new GroupWatcher(pipeline, pipeline.ingestorGroup),
    tracker: new GroupWatcher(pipeline, pipeline.trackerGroup),
  };
  try {
    const events = scaleEvents(settings);
    // Record timestamps advance at about the rate the plan produces them (paced parts + quick backlogs).
    const plannedSeconds =
      (settings.warmUpEvents + 2 * settings.transitionEvents) / settings.pacedRatePerSecond +
      (events - settings.warmUpEvents - 2 * settings.transitionEvents) / 15_000;
    const records = liveStream({
      seed: profile.seed + 1_000,
      events,
      advertisers: settings.advertisers,
      zipfExponent: 0.3,
      runId: `sc${profile.seed}`,
      ratePerSecond: events / plannedSeconds,
    });
    let next = 0;
    const take = (n: number): GeneratedRecord[] => {
      const part = records.slice(next, next + n);
      next += part.length;
      return part;
    };
    const paced = (part: readonly GeneratedRecord[]) =>
      producePaced(pipeline.kafka, pipeline.topic, part, settings.pacedRatePerSecond);

    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    log(
      `${events} records, ${settings.partitions} partitions; warm-up of ${settings.warmUpEvents} (1 replica)`,
    );
    await paced(take(settings.warmUpEvents)).done;
    await pipeline.waitCaughtUp(300_000);

    /** Freezes every consumer, produces `part` as fast as possible, thaws them; resolves when both drained it. */
    const backlog = async (part: readonly GeneratedRecord[], meters?: Record<PathName, EfficiencyMeter>) => {
      const all = pipeline.children.running();
      const loadStartedAtMs = Date.now();
      for (const child of all) child.freeze(true);
      try {
        await producePaced(pipeline.kafka, pipeline.topic, part, UNPACED).done;
      } finally {
        for (const child of all) child.freeze(false);
      }
      const loadMs = Date.now() - loadStartedAtMs;
      const drained = (path: PathName) => async () => {
        const progress = await pipeline.progress().catch(() => null);
        return progress !== null && lagOf(progress, path) === 0;
      };
      const measured =
        meters === undefined
          ? null
          : await Promise.all([
              meters.ingestor.measure(drained("ingestor"), 600_000),
              meters.tracker.measure(drained("tracker"), 600_000),
            ]);
      await pipeline.waitCaughtUp(600_000);
      return { loadMs, measured };
    };

    /**
     * One measurement: with `warmUp`, first an unmeasured backlog (replicas that just started compile their hot
     * paths on it: a cold V8 spends several times the CPU per record), then the measured one.
     */
    const drain = async (label: string, warmUp: boolean): Promise<DrainPhase> => {
      const replicas = { ingestor: pipeline.instances("ingestor"), tracker: pipeline.instances("tracker") };
      if (warmUp) await backlog(take(replicas.ingestor.length * settings.warmUpBurstPerReplica));
      const part = take(settings.burstEvents);
      const meters = {
        ingestor: new EfficiencyMeter(replicas.ingestor),
        tracker: new EfficiencyMeter(replicas.tracker),
      };
      await Promise.all([meters.ingestor.start(), meters.tracker.start()]);
      const { loadMs, measured } = await backlog(part, meters);
      const [ingestor, tracker] = measured as [PhaseEfficiency, PhaseEfficiency];
      log(`${label}: ${part.length} records produced in ${loadMs} ms while frozen, then drained`);
      log(`  ingestor × ${replicas.ingestor.length}: ${describeEfficiency(ingestor)}`);
      log(`  tracker  × ${replicas.tracker.length}: ${describeEfficiency(tracker)}`);
      return { replicas: replicas.ingestor.length, records: part.length, loadMs, ingestor, tracker };
    };

    const before = await drain("1 replica each", true);

    // Scale out while producing.
    const faults: FaultRecord[] = [];
    const outProduction = paced(take(settings.transitionEvents));
    const scaleOutAtMs = Date.now();
    for (let i = 1; i < settings.replicas; i++) {
      await pipeline.startIngestor();
      await pipeline.startTracker();
    }
    const rebalanceSeen = await Promise.all(
      PATHS.map((path) => watchers[path].waitFor(REBALANCING, 120_000)),
    );
    const stableOut = await Promise.all(
      PATHS.map((path) =>
        watchers[path].waitFor((s) => s.state === "Stable" && s.members === settings.replicas, 180_000),
      ),
    );
    const readyOut = await allReady(pipeline.children.running(), 120_000);
    const scaledOutMs = Date.now() - scaleOutAtMs;
    await recovered(pipeline, faults, "scale-out", `1 → ${settings.replicas}`, scaleOutAtMs);
    log(
      `scaled out to ${settings.replicas} in ${scaledOutMs} ms (groups ${JSON.stringify(stableOut)}, ready ${readyOut})`,
    );
    await outProduction.done;
    await pipeline.waitCaughtUp(300_000);

    const spread = await drain(`${settings.replicas} replicas each`, true);

    // Scale in while producing: two of each stop gracefully; the original and one newcomer leave.
    const inProduction = paced(take(settings.transitionEvents));
    const scaleInAtMs = Date.now();
    const leaving: ServiceChild[] = PATHS.flatMap((path) => pipeline.instances(path).slice(0, -1));
    const leaveExits = Object.fromEntries(
      await Promise.all(leaving.map(async (child) => [child.label, await exitOf(child)] as const)),
    );
    const stableIn = await Promise.all(
      PATHS.map((path) => watchers[path].waitFor((s) => s.state === "Stable" && s.members === 1, 180_000)),
    );
    const scaledInMs = Date.now() - scaleInAtMs;
    await recovered(pipeline, faults, "scale-in", `${settings.replicas} → 1 (SIGTERM)`, scaleInAtMs);
    log(`scaled in to 1 in ${scaledInMs} ms; exits ${JSON.stringify(leaveExits)}`);
    await inProduction.done;
    await pipeline.waitCaughtUp(300_000);

    const after = await drain("1 replica each, after scaling in", false);
    if (next !== records.length) throw new Error(`produced ${next} of ${records.length} records`);
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();

    const single = {
      ingestor: summarize(
        [...before.ingestor.replicas, ...after.ingestor.replicas],
        before.ingestor.wallMs + after.ingestor.wallMs,
      ),
      tracker: summarize(
        [...before.tracker.replicas, ...after.tracker.replicas],
        before.tracker.wallMs + after.tracker.wallMs,
      ),
    };
    const ratio = (path: "ingestor" | "tracker") =>
      Math.round((spread[path].perCpuSecond / single[path].perCpuSecond) * 1_000) / 1_000;
    const efficiency = {
      singleIngestor: Math.round(single.ingestor.perCpuSecond),
      spreadIngestor: Math.round(spread.ingestor.perCpuSecond),
      ingestorRatio: ratio("ingestor"),
      singleTracker: Math.round(single.tracker.perCpuSecond),
      spreadTracker: Math.round(spread.tracker.perCpuSecond),
      trackerRatio: ratio("tracker"),
    };
    log(
      `records per CPU-second per replica: ingestor 1× ${efficiency.singleIngestor} vs ${settings.replicas}× ` +
        `${efficiency.spreadIngestor} (${efficiency.ingestorRatio}); tracker 1× ${efficiency.singleTracker} ` +
        `vs ${settings.replicas}× ${efficiency.spreadTracker} (${efficiency.trackerRatio})`,
    );
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "10-scale-out-in",
      title: `ingestor and tracker 1 → ${settings.replicas} → 1 on ${settings.partitions} partitions`,
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        efficiency,
        phases: { before, spread, after },
        rebalanceObserved: rebalanceSeen.map((s) => s?.state ?? null),
        groupsAfterScaleOut: stableOut,
        readyAfterScaleOut: readyOut,
        groupsAfterScaleIn: stableIn,
        scaledOutMs,
        scaledInMs,
        leaveExits,
        processes: pipeline.children.children.length,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
      },
    });
  } finally {
    monitor.stop();
    await Promise.all(PATHS.map((path) => watchers[path].close()));
    await pipeline.close();
  }
}

/**
 * Records a scale step of each path as a fault that ended when its group was stable again, recovered when the
 * path then committed new progress.
 */
async function recovered(
  pipeline: Pipeline,
  faults: FaultRecord[],
  kind: string,
  detail: string,
  startedAtMs: number,
): Promise<void> {
  await Promise.all(
    PATHS.map(async (path) => {
      const fault: FaultRecord = {
        kind,
        target: path === "ingestor" ? "ingestor" : "budget-tracker",
        startedAtMs,
        endedAtMs: Date.now(),
        recoveredAtMs: null,
        detail,
      };
      faults.push(fault);
      await pipeline.awaitRecovery(path, fault);
    }),
  );
}

/** SIGTERM and the exit code (a graceful leave exits 0; "timeout" if it did not leave within a minute). */
async function exitOf(child: ServiceChild): Promise<string> {
  const exit = await Promise.race([
    child.kill("SIGTERM"),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 60_000).unref()),
  ]);
  return exit === null ? "timeout" : String(exit.code ?? exit.signal);
}
