import { createKafka, ensureTopic, KafkaError } from "@adpipe/kafka";
import type { EachMessagePayload } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, type TestTopic, testKafkaConnection, uniqueName } from "../../support/index.js";

/** Consumes until `count` messages arrived (or the test times out), then disconnects. */
async function consumeMessages(topicUnderTest: TestTopic, count: number): Promise<EachMessagePayload[]> {
  const consumer = topicUnderTest.kafka.consumer({ groupId: uniqueName("g-plain") });
  const received: EachMessagePayload[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: topicUnderTest.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async (payload) => {
            received.push(payload);
            if (received.length >= count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe("Kafka over PLAINTEXT (127.0.0.1:9092)", () => {
  let topic: TestTopic;

  beforeAll(async () => {
    topic = await createTestTopic("infra-plain", 3);
  });
  afterAll(async () => {
    await topic?.delete();
  });

  it("creates the topic explicitly, idempotently, with the partitions asked for", async () => {
    expect(await ensureTopic(topic.kafka, { topic: topic.topic, partitions: 3 })).toEqual({
      created: false,
      partitions: 3,
    });
    await expect(ensureTopic(topic.kafka, { topic: topic.topic, partitions: 4 })).rejects.toMatchObject({
      code: "ADP_KAFKA_TOPIC_PARTITION_MISMATCH",
    });
  });

  it("round-trips keyed records: same key, same partition, in order", async () => {
    const producer = topic.kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({
      key: `adv-${i % 3}`,
      value: JSON.stringify({ i }),
    }));
    await producer.send({ topic: topic.topic, messages });
    await producer.disconnect();

    const received = await consumeMessages(topic, messages.length);
    expect(received).toHaveLength(30);
    const byKey = new Map<string, { partitions: Set<number>; order: number[] }>();
    for (const { message, partition } of received) {
      const key = message.key?.toString() ?? "";
      const entry = byKey.get(key) ?? { partitions: new Set<number>(), order: [] };
      entry.partitions.add(partition);
      entry.order.push((JSON.parse(message.value?.toString() ?? "{}") as { i: number }).i);
      byKey.set(key, entry);
    }
    expect([...byKey.keys()].sort()).toEqual(["adv-0", "adv-1", "adv-2"]);
    for (const { partitions, order } of byKey.values()) {
      expect(partitions.size).toBe(1);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(10);
    }
  });

  it("does not auto-create topics: producing to a missing topic fails", async () => {
    const kafka = createKafka(testKafkaConnection(), { retry: { retries: 1, initialRetryTime: 100 } });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await expect(
        producer.send({
          topic: uniqueName("infra-missing"),
          messages: [{ value: "x" }],
          acks: -1,
          timeout: 2_000,
        }),
      ).rejects.toThrow(/topic|partition/i);
    } finally {
      await producer.disconnect();
    }
  });

  it("rejects a bad partition count before asking the broker", async () => {
    await expect(ensureTopic(topic.kafka, { topic: topic.topic, partitions: 0 })).rejects.toBeInstanceOf(
      KafkaError,
    );
  });
});
