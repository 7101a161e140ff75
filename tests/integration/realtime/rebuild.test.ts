import { setTimeout as sleep } from "node:timers/promises";
import type { AppliedBatch } from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { spendKeys } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { deleteRedisPrefix } from "../../support/index.js";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { redisDiffFromOracle, runRebuildRedis, useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";
import { withinToday } from "./support/wall-clock.js";

// Redis loses the tracker's state in the middle of a run (the test deletes every key under its own prefix,
// standing in for FLUSHALL without wiping other tests' data); the tracker notices (sentinel gone), rebuilds
// from Postgres (Silver, written by the real ingestor in a database of this test) and resumes from the
// ingestor's offsets. The state must end exactly as the oracle says.

// Wall clock throughout (the CLI has no injected clock): the stream covers up to the last three hours of the
// current UTC day, so that the tracker's current period holds all of it.
const window = await withinToday(3 * 3_600_000);
// Half the advertisers in hard_cap: the rebuild and reconciliation cover over_cap amounts and budget modes too.
const stream = generated({
  seed: 41,
  events: 8_000,
  advertisers: 30,
  startMs: window.startMs,
  spanMs: window.spanMs,
  hardCapShare: 0.5,
});
const applied: AppliedBatch[] = [];

const pipeline = useRealtimePipeline({
  name: "rt-rebuild",
  partitions: 3,
  ingestor: {},
  tracker: {
    env: { STATE_CHECK_INTERVAL_MS: "300", RECONCILE_INTERVAL_MS: "0" },
    options: { onBatchApplied: (b) => applied.push(b) },
  },
});

function oracleUpTo(count: number): Oracle {
  return new Oracle().observeAll(stream.slice(0, count));
}

/**
 * Redis equals the oracle's state now. When a budget period ends between the last apply and the check, the
 * tracker's rollover sweep (every second) catches up: so the comparison is retried for a few seconds.
 */
async function expectExact(oracle: Oracle): Promise<void> {
  expect(await redisDiffFromOracle(pipeline.reader, oracle)).toEqual([]);
}

describe("rebuild after Redis lost the state", () => {
  it("the stream drives hard_cap advertisers beyond their budgets in the current period", () => {
    const atEnd = oracleUpTo(stream.length).servingStateAt(window.endMs);
    expect(atEnd.some((state) => state.mode === "hard_cap" && state.overCapMicros > 0)).toBe(true);
  });

  it("rebuilds from Postgres mid-run and ends exact", async () => {
    const { topic, reader, redis, prefix, tracker } = pipeline;
    const firstPart = Math.floor(stream.length * 0.6);
    await produceRecords(topic.kafka, topic.topic, stream.slice(0, firstPart));
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    await pipeline.ingestorCaughtUp(90_000);
    await expectExact(oracleUpTo(firstPart));

    // The rest arrives while Redis loses everything.
    const producing = produceRecords(topic.kafka, topic.topic, stream.slice(firstPart), 200);
    await sleep(150);
    const deleted = await deleteRedisPrefix(redis, prefix);
    expect(deleted).toBeGreaterThan(0);
    await producing;

    await eventually(
      "the tracker rebuilt",
      async () => /budget_tracker_rebuilds_total\{[^}]*\} 1/.test(await tracker.registry.metrics()),
      60_000,
    );
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    await expectExact(oracleUpTo(stream.length));
  });

  it("reconciliation with Postgres finds no difference in steady state", async () => {
    const { tracker } = pipeline;
    await pipeline.ingestorCaughtUp(90_000);
    const report = await tracker.tracker.reconcile();
    expect(report).not.toBeNull();
    expect(report?.offsetsApart).toBe(0);
    expect(report?.mismatched).toEqual([]);
    expect(report?.netAbsDiffMicros).toBe(0);
    expect(report?.advertisers).toBeGreaterThan(10);
    const metrics = await tracker.registry.metrics();
    expect(metrics).toMatch(/budget_tracker_reconcile_abs_difference\{[^}]*measure="net_micros"[^}]*\} 0/);
    expect(metrics).toMatch(
      /budget_tracker_reconcile_abs_difference\{[^}]*measure="over_cap_micros"[^}]*\} 0/,
    );
  });

  it("reconciliation reports an over_cap amount or a budget mode Redis holds differently from Postgres", async () => {
    const { reader, redis, prefix, tracker } = pipeline;
    const states = [...(await reader.readStates()).values()];
    // The stream drives hard_cap advertisers beyond their budgets today; only when a UTC midnight passed since
    // it ended are the over_cap amounts of the new period all 0, and then any hard_cap advertiser will do.
    const capped =
      states.find((state) => state.mode === "hard_cap" && state.overCapMicros > 0) ??
      states.find((state) => state.mode === "hard_cap");
    expect(capped, "the stream has hard_cap advertisers").toBeDefined();
    const key = spendKeys(prefix).advertiser(capped!.advertiserId);
    const original = await redis.hmget(key, "over_cap_micros", "mode");
    try {
      await redis.hset(key, "over_cap_micros", String(capped!.overCapMicros + 3), "mode", "observe");
      const report = await tracker.tracker.reconcile();
      expect(report?.offsetsApart).toBe(0);
      expect(report?.mismatched).toHaveLength(1);
      expect(report?.mismatched[0]).toMatchObject({
        advertiserId: capped!.advertiserId,
        overCapDiffMicros: 3,
        modeDiffers: true,
        netDiffMicros: 0,
        redis: { mode: "observe" },
        warehouse: { mode: "hard_cap", overCapMicros: capped!.overCapMicros },
      });
      expect(report?.overCapAbsDiffMicros).toBe(3);
    } finally {
      await redis.hset(key, "over_cap_micros", original[0]!, "mode", original[1]!);
    }
    expect((await tracker.tracker.reconcile())?.mismatched).toEqual([]);
  });

  it("`adpipe rebuild-redis` while the tracker runs: the tracker adopts the new state and stays exact", async () => {
    const { topic, reader } = pipeline;
    const code = await runRebuildRedis(pipeline);
    expect(code).toBe(0);
    const before = applied.length;
    const extra = generated({
      seed: 42,
      events: 500,
      advertisers: 30,
      startMs: Date.now() - 60_000,
      spanMs: 60_000,
      initialBudgets: false,
    });
    await produceRecords(topic.kafka, topic.topic, extra);
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    expect(applied.length).toBeGreaterThan(before);
    await expectExact(oracleUpTo(stream.length).observeAll(extra));
  });
});
