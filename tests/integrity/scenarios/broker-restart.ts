import { setTimeout as sleep } from "node:timers/promises";
import { compareWithProduced, producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { PrivateKafka } from "../support/private-kafka.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

/**
 * Scenario 4: the Kafka broker (a private single-node broker on its own ports and data directory) is stopped
 * and started again in the middle of a run: once with a controlled shutdown (SIGTERM), once crashed (SIGKILL).
 * Producers, both consumer groups and the group coordinator go away; consumers must reconnect by themselves
 * (same processes) and finish exactly.
 */
export async function brokerRestart(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.brokerRestart;
  const startedAtMs = Date.now();
  const broker = await PrivateKafka.create();
  const pipeline = await Pipeline.create({ scenario: "broker", partitions: 4, brokers: broker.brokers });
  const monitor = new LagMonitor(pipeline);
  try {
    const records = liveStream({
      seed: profile.seed + 400,
      events: settings.events,
      advertisers: 40,
      runId: `bk${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    const production = producePaced(pipeline.kafka, pipeline.topic, records, settings.ratePerSecond);
    const faults: FaultRecord[] = [];
    const stops = ["SIGTERM", "SIGKILL"] as const;
    for (const [index, signal] of stops.entries()) {
      const share = (index + 1) / (stops.length + 1);
      await eventually(
        `${Math.round(share * 100)} % of the stream produced and consumed by both paths`,
        async () =>
          production.stats.sent >= records.length * share &&
          ((await pipeline.committed("ingestor")) ?? 0) > 0 &&
          ((await pipeline.committed("tracker")) ?? 0) > 0,
        300_000,
      );
      const fault: FaultRecord = {
        kind: signal === "SIGTERM" ? "broker-stop" : "broker-crash",
        target: `kafka broker (${signal})`,
        startedAtMs: Date.now(),
        endedAtMs: 0,
        recoveredAtMs: null,
        detail: `down ${settings.downMs} ms after the stop`,
      };
      await broker.stop(signal);
      await sleep(settings.downMs);
      await broker.start();
      fault.endedAtMs = Date.now();
      faults.push(fault);
      // Recovered when both paths commit again (the later of the two).
      const [ingestor, tracker] = await Promise.all([
        pipeline.awaitRecovery("ingestor", { ...fault }),
        pipeline.awaitRecovery("tracker", { ...fault }),
      ]);
      fault.recoveredAtMs =
        ingestor.recoveredAtMs === null || tracker.recoveredAtMs === null
          ? null
          : Math.max(ingestor.recoveredAtMs, tracker.recoveredAtMs);
      log(
        `broker ${signal} + ${settings.downMs} ms: ingestor back after ${(ingestor.recoveredAtMs ?? Number.NaN) - fault.endedAtMs} ms, tracker after ${(tracker.recoveredAtMs ?? Number.NaN) - fault.endedAtMs} ms`,
      );
    }
    await production.done;
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const verification = await verifyPipeline(pipeline);
    const produced = compareWithProduced(records, verification.records);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const processes = pipeline.children.children.length;
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "4-broker-restart",
      title: "Kafka broker stopped and crashed, then started again",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        processes,
        producedRecords: records.length,
        topicRecords: verification.records.length,
        // Records the producer wrote twice (a send retried after the broker had stored it): both paths
        // consumed them, so the oracle is computed over the topic as it is. Lost or foreign records would
        // mean the topic is not what was produced.
        producerDuplicates: produced.duplicates,
        producerLost: produced.lost,
        producerForeign: produced.foreign,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    monitor.stop();
    await pipeline.close().catch(() => undefined);
    await broker.destroy();
  }
}
