import type { AppliedBatch } from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";

// The budget-tracker in process against the real broker and Redis, with an injected clock: the stream is
// the generator's default (21:00 to 03:00 UTC, across midnight) and the tracker's clock is the stream's.

const applied: AppliedBatch[] = [];
const stream = generated({ seed: 21, events: 5_000, advertisers: 25 });
let now = stream.at(-1)?.timestampMs ?? 0;

const pipeline = useRealtimePipeline({
  name: "rt-tracker",
  partitions: 3,
  tracker: {
    env: { ROLLOVER_CHECK_INTERVAL_MS: "100" },
    options: { clock: () => now, onBatchApplied: (batch) => applied.push(batch) },
  },
});

const record = (key: string, json: object, timestampMs: number) => ({
  key,
  value: new TextEncoder().encode(JSON.stringify(json)),
  timestampMs,
});

describe("budget-tracker (in process)", () => {
  it("after a generated stream every advertiser hash equals the oracle to the micro-unit", async () => {
    const { topic, reader, tracker: service } = pipeline;
    await produceRecords(topic.kafka, topic.topic, stream);
    const oracle = new Oracle().observeAll(stream);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    const expected = oracle.servingStateAt(now);
    expect(diffAgainstOracle(await reader.readStates(), expected)).toEqual([]);
    expect(expected.length).toBeGreaterThan(10);
    const totals = applied.reduce(
      (sum, batch) => ({ duplicates: sum.duplicates + batch.outcome.duplicates, batches: sum.batches + 1 }),
      { duplicates: 0, batches: 0 },
    );
    expect(totals.duplicates).toBeGreaterThan(0);
    const metrics = await service.registry.metrics();
    expect(metrics).toMatch(/budget_tracker_freshness_seconds_count\{[^}]*\} 5000/);
    expect(metrics).toMatch(/budget_tracker_duplicates_skipped_total\{[^}]*\} [1-9]/);
  });

  it("a budget raise after exhaustion flips can_serve to 1 within one batch", async () => {
    const { topic, reader, redis, prefix } = pipeline;
    const at = now;
    const base = {
      advertiser_id: "raise-1",
      advertiser: "Raise",
      timestamp: new Date(at - 1_000).toISOString(),
    };
    await produceRecords(topic.kafka, topic.topic, [
      record("raise-1", { ...base, event_type: "budget_update", budget_value: 1 }, at),
      record("raise-1", { ...base, event_type: "ad_click", click_id: "r1", amount: 0.6 }, at),
      record("raise-1", { ...base, event_type: "ad_click", click_id: "r2", amount: 0.5 }, at),
    ]);
    await eventually(
      "raise-1 exhausted",
      async () => (await reader.readState("raise-1"))?.reason === "budget_exhausted",
    );
    const before = applied.length;
    await produceRecords(topic.kafka, topic.topic, [
      record(
        "raise-1",
        { ...base, event_type: "budget_update", budget_value: 5, timestamp: new Date(at).toISOString() },
        at,
      ),
    ]);
    await eventually("the raise applied", () => applied.slice(before).some((b) => b.outcome.applied > 0));
    const batch = applied.slice(before).find((b) => b.outcome.applied > 0);
    expect(batch?.outcome.flips).toEqual([{ advertiserId: "raise-1", canServe: true }]);
    expect(await redis.hget(`${prefix}adv:{raise-1}`, "can_serve")).toBe("1");
    expect(await reader.readState("raise-1")).toMatchObject({
      budgetMicros: 5_000_000,
      netMicros: 1_100_000,
    });
  });

  it("the period rollover re-enables serving with no new click (injected clock)", async () => {
    const { topic, reader, redis, prefix } = pipeline;
    const at = now;
    const base = { advertiser_id: "roll-1", timestamp: new Date(at - 1_000).toISOString() };
    await produceRecords(topic.kafka, topic.topic, [
      record("roll-1", { ...base, event_type: "budget_update", budget_value: 1 }, at),
      record("roll-1", { ...base, event_type: "ad_click", click_id: "x1", amount: 1.5 }, at),
    ]);
    await eventually(
      "roll-1 exhausted",
      async () => (await reader.readState("roll-1"))?.reason === "budget_exhausted",
    );
    const today = reader.periodOf(at);
    now = today.endMs; // midnight UTC: the first millisecond of the next budget day
    await eventually(
      "roll-1 serves again",
      async () => (await redis.hget(`${prefix}adv:{roll-1}`, "can_serve")) === "1",
      10_000,
    );
    const state = await reader.readState("roll-1");
    expect(state).toMatchObject({
      period: reader.periodOf(now).id,
      netMicros: 0,
      grossMicros: 0,
      clicks: 0,
      budgetMicros: 1_000_000,
    });
    expect(state?.period).not.toBe(today.id);
  });
});
