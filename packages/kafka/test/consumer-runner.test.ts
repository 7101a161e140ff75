import { kafkaConnectionFromEnv } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { createKafka } from "../src/client.js";
import { ConsumerRunner, validateSeekOffsets } from "../src/consumer-runner.js";
import { KafkaError } from "../src/errors.js";

const assignments = [
  { topic: "t", partition: 0 },
  { topic: "t", partition: 1 },
];

describe("validateSeekOffsets", () => {
  it("accepts offsets of assigned partitions", () => {
    const offsets = [{ topic: "t", partition: 1, offset: "42" }];
    expect(validateSeekOffsets(assignments, offsets)).toEqual(offsets);
    expect(validateSeekOffsets(assignments, [])).toEqual([]);
  });

  it.each([
    [{ topic: "t", partition: 2, offset: "1" }, /not assigned/],
    [{ topic: "other", partition: 0, offset: "1" }, /not assigned/],
    [{ topic: "t", partition: 0, offset: "-1" }, /offset "-1"/],
    [{ topic: "t", partition: 0, offset: "1.5" }, /offset "1.5"/],
    [{ topic: "t", partition: 0, offset: "" }, /offset ""/],
  ])("rejects %j", (offset, message) => {
    expect(() => validateSeekOffsets(assignments, [offset])).toThrow(message);
    try {
      validateSeekOffsets(assignments, [offset]);
    } catch (error) {
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as KafkaError).code).toBe("ADP_KAFKA_ASSIGNMENT_FAILED");
    }
  });
});

describe("ConsumerRunner (without a broker)", () => {
  const kafka = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: "127.0.0.1:1" }));

  it("needs at least one topic", () => {
    expect(() => new ConsumerRunner({ kafka, groupId: "g", topics: [], eachBatch: async () => {} })).toThrow(
      KafkaError,
    );
  });

  it("starts idle, and stop() before start() is harmless", async () => {
    const runner = new ConsumerRunner({ kafka, groupId: "g", topics: ["t"], eachBatch: async () => {} });
    expect(runner.state).toBe("idle");
    expect(runner.consumer).toBeUndefined();
    await runner.stop();
    expect(runner.state).toBe("stopped");
    await expect(runner.done()).resolves.toBeUndefined();
    await expect(runner.start()).rejects.toMatchObject({ code: "ADP_KAFKA_INVALID_STATE" });
  });
});
