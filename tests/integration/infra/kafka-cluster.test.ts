import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createKafkaPublisher, type KafkaPublisher } from "@adpipe/api";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { type AdpipeKafka, createKafka, ensureTopic, WHOLE_SEND_PRODUCER, withAdmin } from "@adpipe/kafka";
import { ConfigResourceTypes, type Consumer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, uniqueName } from "../../support/index.js";

const run = promisify(execFile);
const BROKERS = 3;
const PARTITIONS = 6;
const BATCHES_PER_PHASE = 20;
const RECORDS_PER_BATCH = 25;

/**
 * A private three-broker cluster from scripts/kafka.sh (its own state directory and ports, away from the shared
 * broker): topics the code creates are replicated three times with min.insync.replicas 2, so producing with
 * acks=all goes on, and nothing acknowledged is lost, when a broker is killed.
 */
/** A new topic reaches the brokers' metadata caches one by one: a client asking another broker meanwhile fails. */
async function waitUntilEveryBrokerKnows(brokers: readonly string[], topic: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const broker of brokers) {
    const single = createKafka(
      kafkaConnectionFromEnv({ KAFKA_BROKERS: broker, KAFKA_CLIENT_ID: "cluster-test" }),
    );
    for (;;) {
      const known = await withAdmin(single, (admin) => admin.fetchTopicMetadata({ topics: [topic] })).catch(
        (error: unknown) => error,
      );
      if (!(known instanceof Error)) break;
      if (Date.now() > deadline) throw known;
      await sleep(250);
    }
  }
}

/** Reads the topic from the beginning in a new group until `count` distinct values arrived or 60 s passed. */
async function consumeAll(kafka: AdpipeKafka, topic: string, count: number): Promise<Set<string>> {
  const received = new Set<string>();
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName("g-cluster") });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.add(message.value?.toString() ?? "");
      },
    });
    const deadline = Date.now() + 60_000;
    while (received.size < count && Date.now() < deadline) await sleep(200);
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe("a three-broker KRaft cluster (scripts/kafka.sh, KAFKA_BROKERS_COUNT=3)", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "adpipe-kafka-cluster-"));
  // Broker i listens on these + 10 * i; a random base keeps parallel runs apart.
  const basePort = 21_000 + 100 * Math.floor(Math.random() * 80);
  const env = {
    ...process.env,
    KAFKA_BROKERS_COUNT: String(BROKERS),
    KAFKA_STATE_DIR: stateDir,
    KAFKA_PLAINTEXT_PORT: String(basePort),
    KAFKA_SASL_PORT: String(basePort + 1),
    KAFKA_CONTROLLER_PORT: String(basePort + 2),
  };
  const script = (...args: string[]) =>
    run("bash", [join(REPO_ROOT, "scripts", "kafka.sh"), ...args], { env, timeout: 170_000 });
  const topic = uniqueName("infra-cluster");
  const brokerList = Array.from({ length: BROKERS }, (_, i) => `127.0.0.1:${basePort + 10 * i}`);
  let kafka: AdpipeKafka;
  // The broker the SIGKILL test stops (its node id), for the replication warning test after it.
  let killedBroker: number | undefined;

  beforeAll(async () => {
    await script("start");
    kafka = createKafka(
      kafkaConnectionFromEnv({ KAFKA_BROKERS: brokerList.join(","), KAFKA_CLIENT_ID: "cluster-test" }),
    );
  }, 180_000);

  afterAll(async () => {
    await script("stop").catch((error: unknown) => console.error("kafka.sh stop failed", error));
    rmSync(stateDir, { recursive: true, force: true });
  }, 120_000);

  it("reports every broker in status", async () => {
    const { stderr } = await script("status");
    expect(stderr.match(/ answers on PLAINTEXT/g)).toHaveLength(BROKERS);
  });

  it("creates topics with replication factor 3 and min.insync.replicas 2 by default", async () => {
    const brokers = await withAdmin(kafka, async (admin) => (await admin.describeCluster()).brokers);
    expect(brokers).toHaveLength(BROKERS);
    expect(await ensureTopic(kafka, { topic, partitions: PARTITIONS })).toEqual({
      created: true,
      partitions: PARTITIONS,
    });
    await waitUntilEveryBrokerKnows(brokerList, topic);
    const { metadata, minIsr } = await withAdmin(kafka, async (admin) => ({
      metadata: await admin.fetchTopicMetadata({ topics: [topic] }),
      minIsr: (
        await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["min.insync.replicas"] }],
        })
      ).resources[0]?.configEntries.find((entry) => entry.configName === "min.insync.replicas")?.configValue,
    }));
    const partitions = metadata.topics[0]?.partitions ?? [];
    expect(partitions).toHaveLength(PARTITIONS);
    for (const partition of partitions) expect(partition.replicas).toHaveLength(3);
    expect(minIsr).toBe("2");
  });

  it("keeps producing (acks=all) and consuming, losing nothing, when a partition leader is SIGKILLed", async () => {
    const publisher: KafkaPublisher = createKafkaPublisher(kafka.producer(WHOLE_SEND_PRODUCER), topic);
    const sent: string[] = [];
    const produce = async (phase: string) => {
      for (let batch = 0; batch < BATCHES_PER_PHASE; batch++) {
        const records = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
          key: `adv-${(batch * RECORDS_PER_BATCH + i) % 17}`,
          value: `${phase}-${batch}-${i}`,
          timestampMs: Date.now(),
        }));
        await publisher.publish(records);
        sent.push(...records.map((record) => record.value));
      }
    };
    try {
      await produce("before");
      // A group joined with all three brokers up: the group coordinator's topic is replicated three times too.
      expect((await consumeAll(kafka, topic, sent.length)).size).toBe(sent.length);

      const leader = await withAdmin(kafka, async (admin) => {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        return metadata.topics[0]?.partitions.find((partition) => partition.partitionId === 0)?.leader;
      });
      expect(leader).toBeGreaterThanOrEqual(1);
      killedBroker = leader;
      const { stdout } = await script("pid", String((leader ?? 1) - 1));
      process.kill(Number(stdout.trim()), "SIGKILL");

      await produce("after");
      const received = await consumeAll(kafka, topic, sent.length);
      const lost = sent.filter((value) => !received.has(value));
      expect({ sent: sent.length, lost: lost.length }).toEqual({
        sent: 2 * BATCHES_PER_PHASE * RECORDS_PER_BATCH,
        lost: 0,
      });
    } finally {
      await publisher.close();
    }
  }, 150_000);

  it("warns with what to do when a topic is created while a broker is not registered", async () => {
    expect(killedBroker, "the SIGKILL test stopped a broker").toBeDefined();
    // The controller fences the killed broker after its session times out; until then it is still registered.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const registered = await withAdmin(kafka, async (admin) => (await admin.describeCluster()).brokers);
      if (registered.length < BROKERS) break;
      if (Date.now() > deadline) throw new Error("the killed broker is still registered after 60 s");
      await sleep(500);
    }
    const warnings: Array<{ object: Record<string, unknown>; message: string | undefined }> = [];
    const logger = {
      error: () => undefined,
      warn: (object: object, message?: string) =>
        warnings.push({ object: object as Record<string, unknown>, message }),
      info: () => undefined,
      debug: () => undefined,
    };
    const outageTopic = uniqueName("infra-cluster-outage");
    expect(await ensureTopic(kafka, { topic: outageTopic, partitions: 1, logger })).toEqual({
      created: true,
      partitions: 1,
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.object).toMatchObject({
      topic: outageTopic,
      replicationFactor: BROKERS - 1,
      missingBrokers: [killedBroker],
    });
    expect(String(warnings[0]?.object.action)).toContain("KAFKA_REPLICATION_FACTOR=3");
    // The broker answering may not know the new topic yet (UNKNOWN_TOPIC_OR_PARTITION): ask again for a while.
    const replicas = await withAdmin(kafka, async (admin) => {
      const until = Date.now() + 30_000;
      for (;;) {
        try {
          const metadata = await admin.fetchTopicMetadata({ topics: [outageTopic] });
          const found = metadata.topics[0]?.partitions[0]?.replicas;
          if (found !== undefined) return found;
        } catch (error) {
          if ((error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION" || Date.now() > until)
            throw error;
        }
        if (Date.now() > until) return undefined;
        await sleep(250);
      }
    });
    expect(replicas).toHaveLength(BROKERS - 1);
  }, 120_000);
});
