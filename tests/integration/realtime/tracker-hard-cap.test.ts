import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { SpendStore } from "@adpipe/spend-store";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestTopic,
  deleteRedisPrefix,
  type TestTopic,
  testRedis,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { produceRecords, trackerEnv, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { generated } from "./support/stream.js";

// The budget-tracker through Kafka: hard_cap advertisers among observe ones, budgets spent within the stream.

let topic: TestTopic;
let redis: Redis;
let prefix: string;
let service: TrackerService;
let reader: SpendStore;
const stream = generated({
  seed: 23,
  events: 4_000,
  advertisers: 25,
  hardCapShare: 0.4,
  budgetMicros: { min: 1_000_000, max: 60_000_000 },
  shares: { operatorBudget: 0.01 },
});
const now = stream.at(-1)?.timestampMs ?? 0;

beforeAll(async () => {
  topic = await createTestTopic("rt-hard-cap", 3);
  redis = testRedis();
  prefix = uniqueRedisPrefix("rt-hard-cap");
  const config = loadTrackerConfig(trackerEnv({ topic: topic.topic, prefix }));
  service = await startTrackerService(config, { clock: () => now });
  reader = new SpendStore({ redis, topic: topic.topic, prefix });
});

afterAll(async () => {
  await service?.stop();
  await topic?.delete();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
});

describe("budget-tracker with hard_cap advertisers", () => {
  it("bills every hash as the oracle does, to the micro-unit: net within the cap, the rest over_cap", async () => {
    await produceRecords(topic.kafka, topic.topic, stream);
    const oracle = new Oracle().observeAll(stream);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    const expected = oracle.servingStateAt(now);
    expect(diffAgainstOracle(await reader.readStates(), expected)).toEqual([]);
    const capped = expected.filter((state) => state.mode === "hard_cap");
    expect(capped.some((state) => state.overCapMicros > 0)).toBe(true);
    expect(expected.some((state) => state.mode === "observe")).toBe(true);
  });
});
