import { setTimeout as sleep } from "node:timers/promises";
import { ConsumerRunner, type TopicPartition } from "@adpipe/kafka";
import type { Logger } from "@adpipe/telemetry";
import type { EachBatchPayload } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createTestTopic, type TestTopic, testKafka, uniqueName } from "../../support/index.js";

const topics: TestTopic[] = [];
const runners: ConsumerRunner[] = [];

afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  await Promise.all(topics.splice(0).map((topic) => topic.delete()));
});

/** A topic holding `perPartition` records in each partition, produced `perSend` at a time (one record batch each). */
async function topicWith(
  partitions: number,
  perPartition: number,
  perSend = perPartition,
): Promise<TestTopic> {
  const topic = await createTestTopic("infra-runner", partitions);
  topics.push(topic);
  const producer = topic.kafka.producer();
  await producer.connect();
  for (let partition = 0; partition < partitions; partition++) {
    for (let from = 0; from < perPartition; from += perSend) {
      await producer.send({
        topic: topic.topic,
        messages: Array.from({ length: Math.min(perSend, perPartition - from) }, (_, i) => ({
          partition,
          value: `${partition}:${from + i}`,
        })),
      });
    }
  }
  await producer.disconnect();
  return topic;
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
async function eventually(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(50);
  }
}

function collect(seen: string[]) {
  return async ({ batch, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload) => {
    for (const message of batch.messages) {
      seen.push(`${batch.partition}@${message.offset}`);
      resolveOffset(message.offset);
    }
    await commitOffsetsIfNecessary();
  };
}

describe("ConsumerRunner against the real broker", () => {
  it("seeks to the offsets onAssigned returns before any batch of those partitions", async () => {
    const topic = await topicWith(2, 10);
    const seen: string[] = [];
    const assignmentsSeen: TopicPartition[][] = [];
    const runner = new ConsumerRunner({
      kafka: topic.kafka,
      groupId: uniqueName("g-runner-seek"),
      topics: [topic.topic],
      eachBatch: collect(seen),
      onAssigned: async (assignments) => {
        assignmentsSeen.push(assignments);
        // As a service would after reading its stored offsets: partition 0 resumes at 6, partition 1 from Kafka.
        await sleep(300);
        return [{ topic: topic.topic, partition: 0, offset: "6" }];
      },
    });
    runners.push(runner);
    await runner.start();
    await eventually(() => seen.length >= 14);
    await sleep(500);

    expect(assignmentsSeen[0]?.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic: topic.topic, partition: 0 },
      { topic: topic.topic, partition: 1 },
    ]);
    const partition0 = seen.filter((entry) => entry.startsWith("0@"));
    const partition1 = seen.filter((entry) => entry.startsWith("1@"));
    expect(partition0).toEqual(["0@6", "0@7", "0@8", "0@9"]);
    expect(partition1).toEqual(Array.from({ length: 10 }, (_, i) => `1@${i}`));
  });

  it("restarts the consumer when kafkajs crashes without restarting, and consumes everything", async () => {
    const topic = await topicWith(1, 5);
    const seen: string[] = [];
    const crashes: Error[] = [];
    let failFirstBatch = true;
    // kafkajs logs the crash as an error: captured (and checked) here, not printed into the test output.
    const errors: string[] = [];
    const logger: Logger = {
      error: (_fields, message) => errors.push(message ?? ""),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
    };
    const runner = new ConsumerRunner({
      kafka: testKafka({ logger }),
      groupId: uniqueName("g-runner-crash"),
      topics: [topic.topic],
      // No kafkajs retries and no kafkajs restart: the CRASH event says restart: false, as for Event Hubs'
      // UNKNOWN_SERVER_ERROR. Only the runner can bring the consumer back.
      consumerConfig: { retry: { retries: 0, restartOnFailure: async () => false } },
      restartBackoff: { initialDelayMs: 200, maxDelayMs: 1_000 },
      onCrash: (error) => crashes.push(error),
      eachBatch: async (payload) => {
        if (failFirstBatch) {
          failFirstBatch = false;
          throw new Error("simulated processing failure");
        }
        await collect(seen)(payload);
      },
    });
    runners.push(runner);
    await runner.start();
    await eventually(() => seen.length >= 5);

    expect(crashes.length).toBeGreaterThanOrEqual(1);
    expect(runner.restarts).toBeGreaterThanOrEqual(1);
    expect(runner.state).toBe("running");
    expect(seen).toEqual(["0@0", "0@1", "0@2", "0@3", "0@4"]);
    expect(errors.some((line) => line.includes("simulated processing failure"))).toBe(true);
  });

  it("stops gracefully: the batch in flight finishes and its offsets are committed", async () => {
    const topic = await topicWith(1, 20);
    const groupId = uniqueName("g-runner-stop");
    let batchStarted = false;
    let batchFinished = false;
    let lastResolved = "";
    const runner = new ConsumerRunner({
      kafka: topic.kafka,
      groupId,
      topics: [topic.topic],
      eachBatch: async ({ batch, resolveOffset }) => {
        batchStarted = true;
        await sleep(1_000);
        for (const message of batch.messages) {
          resolveOffset(message.offset);
          lastResolved = message.offset;
        }
        batchFinished = true;
      },
    });
    runners.push(runner);
    await runner.start();
    await eventually(() => batchStarted);
    expect(batchFinished).toBe(false);

    await runner.stop();
    expect(batchFinished).toBe(true);
    expect(runner.state).toBe("stopped");
    await expect(runner.done()).resolves.toBeUndefined();

    const admin = topic.kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic.topic] });
      expect(committed?.partitions).toEqual([
        { partition: 0, offset: String(Number(lastResolved) + 1), metadata: null },
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it("commits once per autoCommitInterval, not after every batch; idle and at stop it catches up", async () => {
    // 30 record batches per partition: a small fetch brings a few of them.
    const topic = await topicWith(2, 3_000, 100);
    const admin = topic.kafka.admin();
    await admin.connect();
    const committed = async (groupId: string) => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic.topic] });
      return (offsets?.partitions ?? [])
        .map((p) => `${p.partition}:${p.offset}`)
        .sort()
        .join(",");
    };
    const end = "0:3000,1:3000";
    try {
      for (const intervalMs of [60_000, 300]) {
        const groupId = uniqueName(`g-runner-commit-${intervalMs}`);
        const seen: string[] = [];
        let batches = 0;
        let commits = 0;
        const runner = new ConsumerRunner({
          kafka: topic.kafka,
          groupId,
          topics: [topic.topic],
          // Small fetches: dozens of batches per partition.
          consumerConfig: { maxBytesPerPartition: 4_096 },
          runConfig: { autoCommitInterval: intervalMs },
          eachBatch: async (payload) => {
            batches += 1;
            await collect(seen)(payload);
          },
        });
        runners.push(runner);
        await runner.start();
        const consumer = runner.consumer;
        consumer?.on(consumer.events.COMMIT_OFFSETS, () => {
          commits += 1;
        });
        await eventually(() => seen.length >= 6_000);
        expect(batches).toBeGreaterThan(20);
        if (intervalMs === 60_000) {
          // Nothing committed within the interval (upstream kafkajs committed after each of the batches)...
          expect(commits).toBe(0);
          expect(await committed(groupId)).toBe("0:-1,1:-1");
          // ...and stop() commits what was resolved before leaving the group.
          await runner.stop();
          expect(await committed(groupId)).toBe(end);
        } else {
          // Idle, the consumer commits on its empty fetches once the interval passed (before any stop()).
          let last = await committed(groupId);
          for (const deadline = Date.now() + 10_000; last !== end && Date.now() < deadline; ) {
            await sleep(100);
            last = await committed(groupId);
          }
          expect(last).toBe(end);
          expect(commits).toBeGreaterThanOrEqual(1);
          expect(commits).toBeLessThan(batches);
        }
      }
    } finally {
      await admin.disconnect();
    }
  });

  it("rejects start() twice, and retries a failing onAssigned while holding batches back", async () => {
    const topic = await topicWith(1, 3);
    let calls = 0;
    const seen: string[] = [];
    const reported: Error[] = [];
    const runner = new ConsumerRunner({
      kafka: topic.kafka,
      groupId: uniqueName("g-runner-assign"),
      topics: [topic.topic],
      restartBackoff: { initialDelayMs: 100, maxDelayMs: 500 },
      onCrash: (error) => reported.push(error),
      onAssigned: async ([assigned]) => {
        calls += 1;
        if (calls <= 2) throw new Error("offset store unavailable");
        return assigned === undefined ? [] : [{ ...assigned, offset: "1" }];
      },
      eachBatch: collect(seen),
    });
    runners.push(runner);
    await runner.start();
    await expect(runner.start()).rejects.toMatchObject({ code: "ADP_KAFKA_INVALID_STATE" });
    await eventually(() => seen.length >= 2);
    // Nothing was processed from the committed position while the offsets were unknown.
    expect(seen).toEqual(["0@1", "0@2"]);
    expect(calls).toBe(3);
    expect(reported.map((error) => (error as { code?: string }).code)).toEqual([
      "ADP_KAFKA_ASSIGNMENT_FAILED",
      "ADP_KAFKA_ASSIGNMENT_FAILED",
    ]);
  });
});
