import { producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import type { ScenarioResult } from "../support/results.js";
import { RssSampler, rssTrends } from "../support/rss.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";

/**
 * Scenario 6: a steady rate for the profile's duration (10 minutes in `full`, 2 in `ci`), the resident memory
 * of every service sampled from /proc every few seconds and both paths' lag every second; then the usual
 * comparison with the oracle. Reports the RSS slope (least squares after a warm-up) and the lag.
 */
export async function sustainedLoad(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.sustained;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({ scenario: "sustained", partitions: 4 });
  const monitor = new LagMonitor(pipeline);
  const rss = new RssSampler(() => pipeline.children.running(), settings.sampleEveryMs);
  try {
    const events = Math.round((settings.durationMs / 1_000) * settings.ratePerSecond);
    const records = liveStream({
      seed: profile.seed + 600,
      events,
      advertisers: 200,
      runId: `sl${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    rss.start();
    const loadStartedAtMs = Date.now();
    log(`${events} records at ${settings.ratePerSecond}/s for ${settings.durationMs / 1_000} s`);
    const production = producePaced(pipeline.kafka, pipeline.topic, records, settings.ratePerSecond);
    await production.done;
    const loadEndedAtMs = Date.now();
    await pipeline.waitCaughtUp(600_000);
    rss.stop();
    monitor.stop();
    // The first fifth (at least 20 s) is warm-up: modules load, JIT compiles, caches and pools fill.
    const warmUpMs = Math.max(20_000, (loadEndedAtMs - loadStartedAtMs) / 5);
    const trends = rssTrends(
      rss.samples.filter((s) => s.atMs <= loadEndedAtMs),
      loadStartedAtMs + warmUpMs,
    );
    const duringLoad = monitor.samples.filter((s) => s.atMs >= loadStartedAtMs && s.atMs <= loadEndedAtMs);
    const lagSeconds = (lag: number) => Math.round((lag / settings.ratePerSecond) * 10) / 10;
    const maxOf = (values: (number | null)[]) =>
      Math.max(0, ...values.filter((v): v is number => v !== null));
    const half = loadStartedAtMs + (loadEndedAtMs - loadStartedAtMs) / 2;
    const lag = {
      maxRecords: {
        ingestor: maxOf(duringLoad.map((s) => s.ingestor)),
        tracker: maxOf(duringLoad.map((s) => s.tracker)),
      },
      maxSecondsOfTraffic: {
        ingestor: lagSeconds(maxOf(duringLoad.map((s) => s.ingestor))),
        tracker: lagSeconds(maxOf(duringLoad.map((s) => s.tracker))),
      },
      secondHalfMaxRecords: {
        ingestor: maxOf(duringLoad.filter((s) => s.atMs >= half).map((s) => s.ingestor)),
        tracker: maxOf(duringLoad.filter((s) => s.atMs >= half).map((s) => s.tracker)),
      },
      caughtUpMsAfterLoad: Date.now() - loadEndedAtMs,
    };
    log(`RSS ${JSON.stringify(trends)}; lag ${JSON.stringify(lag)}`);
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const processes = pipeline.children.children.length;
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "6-sustained-load",
      title: `steady ${settings.ratePerSecond}/s for ${settings.durationMs / 60_000} min`,
      startedAtMs,
      verification,
      faults: [],
      monitor,
      extra: {
        loadMs: loadEndedAtMs - loadStartedAtMs,
        ratePerSecond: settings.ratePerSecond,
        achievedPerSecond: Math.round((production.stats.sent / (loadEndedAtMs - loadStartedAtMs)) * 1_000),
        warmUpMs,
        rss: trends,
        rssSamples: rss.samples.length,
        lag,
        processes,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
      },
    });
  } finally {
    rss.stop();
    monitor.stop();
    await pipeline.close();
  }
}
