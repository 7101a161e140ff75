import { setTimeout as sleep } from "node:timers/promises";
import { testServices } from "../../support/index.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { closeProbedRun, type ProbedRun, settleProbedRun, startProbedRun } from "../support/probed-run.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

/**
 * Scenario 2: Postgres unreachable for ≥ 20 s in the middle of a run, through a TCP proxy between the services
 * and the shared server (which keeps running for everyone else): first a partition (connections frozen, new
 * ones never answered), then a hard outage (every connection reset, the port refuses). The ingestor must keep
 * its process, retry with backoff and catch up; the tracker and serving lookups must not notice.
 */
export async function postgresOutage(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.postgresOutage;
  const startedAtMs = Date.now();
  const server = new URL(testServices().databaseUrl);
  const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port || 5432) });
  const pipeline = await Pipeline.create({ scenario: "pgoutage", partitions: 4, databaseVia: proxy });
  const monitor = new LagMonitor(pipeline);
  let run: ProbedRun | null = null;
  try {
    run = await startProbedRun(pipeline, monitor, {
      seed: profile.seed + 200,
      events: settings.events,
      runId: `pg${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    const { records, ingestor, tracker, probe, production } = run;
    await eventually(
      "a quarter of the stream is in both stores",
      async () =>
        production.stats.sent >= records.length / 4 &&
        ((await pipeline.committed("ingestor")) ?? 0) > 0 &&
        ((await pipeline.committed("tracker")) ?? 0) > 0,
      300_000,
    );

    const before = {
      ingestor: await pipeline.committed("ingestor"),
      tracker: await pipeline.committed("tracker"),
    };
    const probeErrorsBefore = probe.stats.errors;
    const fault: FaultRecord = {
      kind: "postgres-outage",
      target: "postgres (proxy)",
      startedAtMs: Date.now(),
      endedAtMs: 0,
      recoveredAtMs: null,
      detail: `${settings.freezeMs} ms frozen + ${settings.refuseMs} ms refused`,
    };
    log(`outage begins: ${fault.detail}`);
    const readiness: Record<string, number> = {};
    const watchReadiness = (async () => {
      while (fault.endedAtMs === 0) {
        const status = await ingestor
          .ops("/readyz")
          .then((r) => String(r.status))
          .catch(() => "no answer");
        readiness[status] = (readiness[status] ?? 0) + 1;
        await sleep(1_000);
      }
    })();
    await proxy.setMode("freeze");
    await sleep(settings.freezeMs);
    await proxy.setMode("refuse");
    await sleep(settings.refuseMs);
    const during = {
      ingestor: await pipeline.committed("ingestor"),
      tracker: await pipeline.committed("tracker"),
    };
    await proxy.setMode("open");
    fault.endedAtMs = Date.now();
    await watchReadiness;
    const probeErrorsDuring = probe.stats.errors - probeErrorsBefore;
    log(
      `outage over after ${fault.endedAtMs - fault.startedAtMs} ms; committed before/at end ${JSON.stringify({ before, during })}`,
    );
    await pipeline.awaitRecovery("ingestor", fault);
    log(
      `ingestor committed again ${(fault.recoveredAtMs ?? Number.NaN) - fault.endedAtMs} ms after the outage`,
    );

    const lookups = await settleProbedRun(pipeline, monitor, run);
    const batchFailures = await ingestor.metric("ingestor_batch_failures_total").catch(() => Number.NaN);
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const sameProcesses = ingestor.running && tracker.running && pipeline.children.children.length === 2;
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "2-postgres-outage",
      title: "Postgres unreachable ≥ 20 s (partition, then refused)",
      startedAtMs,
      verification,
      faults: [fault],
      monitor,
      extra: {
        outageMs: fault.endedAtMs - fault.startedAtMs,
        committedBefore: before,
        committedAtOutageEnd: during,
        trackerAdvancedDuringOutage: (during.tracker ?? 0) - (before.tracker ?? 0),
        ingestorAdvancedDuringOutage: (during.ingestor ?? 0) - (before.ingestor ?? 0),
        ingestorReadinessDuringOutage: readiness,
        ingestorBatchFailures: batchFailures,
        sameProcessesThroughout: sameProcesses,
        proxy: proxy.stats,
        lookups,
        lookupErrorsDuringOutage: probeErrorsDuring,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    await closeProbedRun(pipeline, monitor, run);
    await proxy.close();
  }
}
