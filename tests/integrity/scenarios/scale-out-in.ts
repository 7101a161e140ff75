import type { GeneratedRecord } from "@adpipe/core";
import type { IntegrityProfile } from "../profile.js";
import { allReady, GroupWatcher, REBALANCING } from "../support/chaos.js";
import type { ServiceChild } from "../support/children.js";
import { describeEfficiency, EfficiencyMeter, type PhaseEfficiency } from "../support/efficiency.js";
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
type PathKey = "ingestor" | "tracker";
const PATH_KEYS: readonly PathKey[] = ["ingestor", "tracker"];
/** As fast as the suite's producer goes (one send of ≤ 500 records at a time, acks from all replicas). */
const UNPACED = 1_000_000_000;
/** How long each replica's idle CPU draw is sampled before a measured backlog. */
const IDLE_MS = 5_000;

/**
 * Records per CPU-second per replica of one path, net of each process' idle draw (and gross, idle included):
 * before (1 replica, as warm as the newcomers are when measured), spread (N replicas), after (1 replica again,
 * by then far warmer than anyone was in the spread phase).
 */
export interface ScaleEfficiency {
  readonly before: number;
  readonly spread: number;
  readonly after: number;
  /** spread / before: the check. */
  readonly ratio: number;
  /** spread / after, for the record. */
  readonly ratioAfter: number;
  readonly beforeGross: number;
  readonly spreadGross: number;
  readonly afterGross: number;
  readonly grossRatio: number;
}

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
 * replica works on full batches and the figure is its capacity, not its idle time at a paced rate. CPU time of
 * each process from schedstat, records from its own counter, its idle draw reported apart (support/efficiency.ts).
 * The 15 % check itself is in integrity.test.ts (applied where each replica can have a core).
 */
export async function scaleOutIn(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.scale;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({
    scenario: "scale",
    partitions: settings.partitions,
    // Frozen consumers stay group members while a backlog is produced and the other path drains it (a graceful
    // leave still rebalances at once); the tracker's periodic checks at their production defaults (the suite's
    // are quicker, for fault detection).
    ingestorEnv: { INGESTOR_SESSION_TIMEOUT_MS: "60000" },
    trackerEnv: {
      TRACKER_SESSION_TIMEOUT_MS: "60000",
      STATE_CHECK_INTERVAL_MS: "5000",
      RECONCILE_INTERVAL_MS: "60000",
    },
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

    /**
     * Freezes every consumer, produces `part` as fast as possible, thaws them and resolves when both paths drained
     * it. Measured, the paths drain one after the other (the tracker stays frozen until the ingestors are done):
     * each path's replicas then share the two cores with Postgres or Redis only, not with the other path.
     */
    const backlog = async (part: readonly GeneratedRecord[], meters?: Record<PathName, EfficiencyMeter>) => {
      const frozen = { ingestor: pipeline.instances("ingestor"), tracker: pipeline.instances("tracker") };
      const thaw = (path: PathName) => {
        for (const child of frozen[path]) child.freeze(false);
      };
      const loadStartedAtMs = Date.now();
      for (const child of [...frozen.ingestor, ...frozen.tracker]) child.freeze(true);
      try {
        await producePaced(pipeline.kafka, pipeline.topic, part, UNPACED).done;
      } catch (error) {
        PATHS.forEach(thaw);
        throw error;
      }
      const loadMs = Date.now() - loadStartedAtMs;
      const drained = (path: PathName) => async () => {
        const progress = await pipeline.progress().catch(() => null);
        return progress !== null && lagOf(progress, path) === 0;
      };
      let measured: [PhaseEfficiency, PhaseEfficiency] | null = null;
      if (meters === undefined) PATHS.forEach(thaw);
      else {
        try {
          thaw("ingestor");
          const ingestor = await meters.ingestor.measure(drained("ingestor"), 600_000);
          thaw("tracker");
          const tracker = await meters.tracker.measure(drained("tracker"), 600_000);
          measured = [ingestor, tracker];
        } finally {
          PATHS.forEach(thaw);
        }
      }
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
      await Promise.all([meters.ingestor.start(IDLE_MS), meters.tracker.start(IDLE_MS)]);
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
    // What the group was (state and members); the assignor name the watcher also reports is not part of it.
    const stableOut = (
      await Promise.all(
        PATHS.map((path) =>
          watchers[path].waitFor((s) => s.state === "Stable" && s.members === settings.replicas, 180_000),
        ),
      )
    ).map((group) => (group === null ? null : { state: group.state, members: group.members }));
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
    const stableIn = (
      await Promise.all(
        PATHS.map((path) => watchers[path].waitFor((s) => s.state === "Stable" && s.members === 1, 180_000)),
      )
    ).map((group) => (group === null ? null : { state: group.state, members: group.members }));
    const scaledInMs = Date.now() - scaleInAtMs;
    await recovered(pipeline, faults, "scale-in", `${settings.replicas} → 1 (SIGTERM)`, scaleInAtMs);
    log(`scaled in to 1 in ${scaledInMs} ms; exits ${JSON.stringify(leaveExits)}`);
    await inProduction.done;
    await pipeline.waitCaughtUp(300_000);

    const after = await drain("1 replica each, after scaling in", false);
    if (next !== records.length) throw new Error(`produced ${next} of ${records.length} records`);
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();

    const ratio = (spreadValue: number, singleValue: number) =>
      Math.round((spreadValue / singleValue) * 1_000) / 1_000;
    const efficiency = Object.fromEntries(
      PATH_KEYS.map((path) => [
        path,
        {
          before: Math.round(before[path].perNetCpuSecond),
          spread: Math.round(spread[path].perNetCpuSecond),
          after: Math.round(after[path].perNetCpuSecond),
          ratio: ratio(spread[path].perNetCpuSecond, before[path].perNetCpuSecond),
          ratioAfter: ratio(spread[path].perNetCpuSecond, after[path].perNetCpuSecond),
          beforeGross: Math.round(before[path].perCpuSecond),
          spreadGross: Math.round(spread[path].perCpuSecond),
          afterGross: Math.round(after[path].perCpuSecond),
          grossRatio: ratio(spread[path].perCpuSecond, before[path].perCpuSecond),
        },
      ]),
    ) as Record<PathKey, ScaleEfficiency>;
    for (const path of PATH_KEYS) {
      const e = efficiency[path];
      log(
        `${path}: records per CPU-second per replica, net of idle draw: 1× ${e.before} → ${settings.replicas}× ` +
          `${e.spread} (ratio ${e.ratio}) → 1× ${e.after} (${settings.replicas}× / after ${e.ratioAfter}); ` +
          `gross: ${e.beforeGross} → ${e.spreadGross} (ratio ${e.grossRatio}) → ${e.afterGross}`,
      );
    }
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
