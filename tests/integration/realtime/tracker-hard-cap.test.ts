import { Oracle } from "@adpipe/core/testing";
import { describe, expect, it } from "vitest";
import { produceRecords, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";

// The budget-tracker through Kafka: hard_cap advertisers among observe ones, budgets spent within the stream.

const stream = generated({
  seed: 23,
  events: 4_000,
  advertisers: 25,
  hardCapShare: 0.4,
  budgetMicros: { min: 1_000_000, max: 60_000_000 },
  shares: { operatorBudget: 0.01 },
});
const now = stream.at(-1)?.timestampMs ?? 0;

const pipeline = useRealtimePipeline({
  name: "rt-hard-cap",
  partitions: 3,
  tracker: { options: { clock: () => now } },
});

describe("budget-tracker with hard_cap advertisers", () => {
  it("bills every hash as the oracle does, to the micro-unit: net within the cap, the rest over_cap", async () => {
    const { topic, reader } = pipeline;
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
