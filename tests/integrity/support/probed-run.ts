import type { GeneratedRecord } from "@adpipe/core";
import type { ServiceChild } from "./children.js";
import { type PacedProducerStats, producePaced } from "./kafka-tools.js";
import type { LagMonitor } from "./lag-monitor.js";
import type { Pipeline } from "./pipeline.js";
import { PrefixStates } from "./prefix-states.js";
import { type ProbeStats, ServingProbe } from "./serving-probe.js";
import { liveStream } from "./streams.js";

export interface ProbedRunOptions {
  /** The scenario's generator seed (the profile's seed plus the scenario's offset). */
  seed: number;
  events: number;
  ratePerSecond: number;
  /** Tags the stream's event ids, so runs never share one. */
  runId: string;
}

/** A live stream going through both paths while ad servers look advertisers up in Redis. */
export interface ProbedRun {
  readonly records: GeneratedRecord[];
  readonly ingestor: ServiceChild;
  readonly tracker: ServiceChild;
  readonly probe: ServingProbe;
  readonly production: { stats: PacedProducerStats; done: Promise<void> };
}

/**
 * Starts what the outage scenarios share: the ingestor and the tracker, the lag monitor, a serving probe that
 * accepts only states the stream's advertisers really go through, and the paced production of a live stream of
 * 40 advertisers. The caller stops the probe (settleProbedRun, or its finally on failure).
 */
export async function startProbedRun(
  pipeline: Pipeline,
  monitor: LagMonitor,
  options: ProbedRunOptions,
): Promise<ProbedRun> {
  const records = liveStream({ ...options, advertisers: 40 });
  const valid = new PrefixStates(records, Date.now());
  const ingestor = await pipeline.startIngestor();
  const tracker = await pipeline.startTracker();
  monitor.start();
  const probe = await new ServingProbe(
    pipeline.redisUrl,
    pipeline.prefix,
    valid.advertiserIds(),
    valid,
  ).start();
  const production = producePaced(pipeline.kafka, pipeline.topic, records, options.ratePerSecond);
  return { records, ingestor, tracker, probe, production };
}

/** Waits until the whole stream is produced and both paths caught up; stops the monitor and the probe. */
export async function settleProbedRun(
  pipeline: Pipeline,
  monitor: LagMonitor,
  run: ProbedRun,
): Promise<ProbeStats> {
  await run.production.done;
  await pipeline.waitCaughtUp(600_000);
  monitor.stop();
  return run.probe.stop();
}

/** The outage scenarios' clean-up, also after a failure half way: monitor, probe (when started), pipeline. */
export async function closeProbedRun(
  pipeline: Pipeline,
  monitor: LagMonitor,
  run: ProbedRun | null,
): Promise<void> {
  monitor.stop();
  await run?.probe.stop();
  await pipeline.close();
}
