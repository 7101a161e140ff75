import { withAdmin } from "@adpipe/kafka";
import { ConfigResourceTypes } from "kafkajs";
import { compareWithProduced, producePaced } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { PrivateKafkaCluster } from "../support/private-kafka-cluster.js";
import type { FaultRecord, ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

interface PartitionView {
  readonly partition: number;
  readonly leader: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
}

/**
 * Scenario 13: the whole pipeline on a private three-broker KRaft cluster (scripts/kafka.sh,
 * KAFKA_BROKERS_COUNT=3; the topic replicated 3 times with min.insync.replicas 2, producers with acks=all). Mid-stream
 * the broker leading the most partitions (half of four) is SIGKILLed; the cluster moves leadership, producer and
 * both consumer groups follow in the same processes; later the broker is started again on its data and catches
 * up into the ISR. Both stores must end equal to the oracle and the topic must hold every produced record.
 */
export async function kafkaCluster(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.kafkaCluster;
  const startedAtMs = Date.now();
  const brokers = await PrivateKafkaCluster.start();
  log(`private 3-broker Kafka cluster ${brokers.brokers.join(",")} ready in ${Date.now() - startedAtMs} ms`);
  let pipeline: Pipeline | null = null;
  let monitor: LagMonitor | null = null;
  try {
    pipeline = await Pipeline.create({
      scenario: "kcluster",
      partitions: settings.partitions,
      brokers: brokers.brokers,
    });
    const topic = pipeline.topic;
    const kafka = pipeline.kafka;
    const partitions = async (): Promise<PartitionView[]> =>
      withAdmin(kafka, async (admin) => {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        return (metadata.topics[0]?.partitions ?? []).map((p) => ({
          partition: p.partitionId,
          leader: p.leader,
          isr: p.isr,
          replicas: p.replicas,
        }));
      });
    const layout = await partitions();
    const minIsr = await topicMinInsyncReplicas(kafka, topic);
    monitor = new LagMonitor(pipeline);
    const records = liveStream({
      seed: profile.seed + 1_100,
      events: settings.events,
      advertisers: 40,
      runId: `kc${profile.seed}`,
      ratePerSecond: settings.ratePerSecond,
    });
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    // A warm-up of the first records: both groups joined and committing before the paced stream, so the kill
    // lands while records are being produced and consumed (three JVMs make start-up slow on a small machine).
    const warmUp = Math.ceil(records.length / 50);
    await producePaced(kafka, topic, records.slice(0, warmUp), settings.ratePerSecond).done;
    await eventually(
      "both paths consumed the warm-up",
      async () =>
        ((await pipeline?.committed("ingestor")) ?? 0) >= warmUp &&
        ((await pipeline?.committed("tracker")) ?? 0) >= warmUp,
      300_000,
    );
    const production = producePaced(kafka, topic, records.slice(warmUp), settings.ratePerSecond);
    const faults: FaultRecord[] = [];
    await eventually(
      "40 % of the stream produced",
      async () => production.stats.sent >= (records.length - warmUp) * 0.4,
      300_000,
    );
    // The broker leading the most partitions (with four partitions over three brokers: two, half of them).
    const before = await partitions();
    const leaderCounts = new Map<number, number>();
    for (const p of before) leaderCounts.set(p.leader, (leaderCounts.get(p.leader) ?? 0) + 1);
    const [victimId, victimLeads] = [...leaderCounts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [0, 0];
    const victimPid = await brokers.pid(victimId - 1);
    const kill: FaultRecord = {
      kind: "kafka-leader-sigkill",
      target: `broker ${victimId} (leader of ${victimLeads}/${before.length} partitions)`,
      startedAtMs: Date.now(),
      // The cluster itself ends the fault: nothing is restarted before the paths must work again.
      endedAtMs: 0,
      recoveredAtMs: null,
      detail: "SIGKILL; leadership moves to the in-sync followers",
    };
    await brokers.kill(victimPid);
    kill.endedAtMs = Date.now();
    faults.push(kill);
    let leadersMovedAtMs: number | null = null;
    const [ingestorBack, trackerBack] = await Promise.all([
      pipeline.awaitRecovery("ingestor", { ...kill }),
      pipeline.awaitRecovery("tracker", { ...kill }),
      eventually(
        `no partition led by broker ${victimId}`,
        async () => (await partitions().catch(() => before)).every((p) => p.leader !== victimId),
        120_000,
        100,
      ).then(() => {
        leadersMovedAtMs = Date.now();
      }),
    ]);
    kill.recoveredAtMs =
      ingestorBack.recoveredAtMs === null || trackerBack.recoveredAtMs === null
        ? null
        : Math.max(ingestorBack.recoveredAtMs, trackerBack.recoveredAtMs);
    const producedAtKill = warmUp + production.stats.sent;
    const failover = {
      leadersMovedMs: leadersMovedAtMs === null ? null : (leadersMovedAtMs as number) - kill.startedAtMs,
      ingestorBackMs:
        ingestorBack.recoveredAtMs === null ? null : ingestorBack.recoveredAtMs - kill.startedAtMs,
      trackerBackMs: trackerBack.recoveredAtMs === null ? null : trackerBack.recoveredAtMs - kill.startedAtMs,
    };
    log(`broker ${victimId} SIGKILLed (led ${victimLeads}/${before.length}): ${JSON.stringify(failover)}`);

    // Down for downMs, then started again on its data: it catches up and rejoins every ISR.
    const downFor = settings.downMs - (Date.now() - kill.startedAtMs);
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
    const restart: FaultRecord = {
      kind: "kafka-broker-restart",
      target: `broker ${victimId}`,
      startedAtMs: Date.now(),
      endedAtMs: 0,
      recoveredAtMs: null,
      detail: `down ${Date.now() - kill.startedAtMs} ms; recovered = back in the ISR of every partition`,
    };
    await brokers.startMissing();
    restart.endedAtMs = Date.now();
    faults.push(restart);
    await eventually(
      `broker ${victimId} back in every ISR`,
      async () => (await partitions().catch(() => [])).every((p) => p.isr.includes(victimId)),
      180_000,
      200,
    )
      .then(() => {
        restart.recoveredAtMs = Date.now();
      })
      .catch(() => undefined);
    const rejoin = {
      startMs: restart.endedAtMs - restart.startedAtMs,
      isrBackMs: restart.recoveredAtMs === null ? null : restart.recoveredAtMs - restart.endedAtMs,
    };
    log(`broker ${victimId} started again: ${JSON.stringify(rejoin)}`);

    await production.done;
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const verification = await verifyPipeline(pipeline);
    const produced = compareWithProduced(records, verification.records);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const processes = pipeline.children.children.length;
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "13-kafka-cluster",
      title: "3-broker Kafka: leader of half the partitions SIGKILLed, then started again",
      startedAtMs,
      verification,
      faults,
      monitor,
      extra: {
        replicationFactors: [...new Set(layout.map((p) => p.replicas.length))],
        minInsyncReplicas: minIsr ?? null,
        killedBroker: victimId,
        partitionsLed: victimLeads,
        partitions: before.length,
        producedBeforeRecovery: producedAtKill,
        killedWhileProducing:
          production.stats.finishedAtMs === null || production.stats.finishedAtMs > kill.startedAtMs,
        failover,
        rejoin,
        processes,
        producedRecords: records.length,
        topicRecords: verification.records.length,
        producerDuplicates: produced.duplicates,
        producerLost: produced.lost,
        producerForeign: produced.foreign,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        producer: production.stats,
      },
    });
  } finally {
    monitor?.stop();
    await pipeline?.close().catch(() => undefined);
    await brokers.stop();
  }
}

/**
 * The topic's min.insync.replicas as the cluster reports it. Just after the topic is created the broker the admin
 * asks may not know it yet (UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition", a
 * retriable error): asked again until it answers, for at most 30 s; any other error fails at once.
 */
async function topicMinInsyncReplicas(kafka: Pipeline["kafka"], topic: string): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await withAdmin(kafka, async (admin) => {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["min.insync.replicas"] }],
        });
        return described.resources[0]?.configEntries.find((e) => e.configName === "min.insync.replicas")
          ?.configValue;
      });
    } catch (error) {
      const retriable = (error as { type?: unknown }).type === "UNKNOWN_TOPIC_OR_PARTITION";
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
