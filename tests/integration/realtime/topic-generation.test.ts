/**
 * The spend store across a topic reset, against real Redis and the oracle: records of a recreated
 * topic (offsets from 0 again) are applied once, never skipped as replays of the old log; the reset moves the
 * positions atomically from the planned generation only and is idempotent; a store that missed the reset cannot
 * commit its positions; a rebuild from the warehouse carries the warehouse's generation.
 */
import { Oracle } from "@adpipe/core/testing";
import { SpendStore } from "@adpipe/spend-store";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "../../support/index.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { generated, placeRecords, toSpendRecords } from "./support/stream.js";

let redis: Redis;
const prefix = uniqueRedisPrefix("rt-generation");

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deleteRedisPrefix(redis, prefix);
  await redis.quit();
});

describe("SpendStore across a topic reset", () => {
  it("counts the new log's records (same offsets as the old log's) exactly once", async () => {
    const firstLog = placeRecords(generated({ seed: 31, events: 2_000, advertisers: 10, runId: "a" }), 2);
    const secondLog = placeRecords(
      generated({
        seed: 32,
        events: 700,
        advertisers: 10,
        runId: "b",
        startMs: (firstLog.at(-1)?.timestampMs ?? 0) + 1_000,
      }),
      2,
    );
    let now = firstLog[0]?.timestampMs ?? 0;
    const store = new SpendStore({ redis, topic: "clicks", prefix, clock: () => now });
    await store.loadScripts();
    await store.createSentinel();
    const oracle = new Oracle();
    const apply = async (store: SpendStore, records: typeof firstLog) => {
      for (let i = 0; i < records.length; i += 150) {
        const batch = records.slice(i, i + 150);
        for (const record of batch) oracle.observe(record);
        now = batch.at(-1)?.timestampMs ?? now;
        const { records: spend, progress } = toSpendRecords(batch);
        const outcome = await store.applyBatch(spend, progress);
        expect(outcome.status).toBe("applied");
        expect(outcome.replayed).toBe(0);
      }
    };
    await apply(store, firstLog);
    const before = await store.readMeta();
    expect(before?.generation).toBe(0);

    // A store of a second tracker process that has not seen the reset yet.
    const stale = new SpendStore({ redis, topic: "clicks", prefix, clock: () => now });
    stale.adopt(before!);

    const step = {
      fromGeneration: 0,
      toGeneration: 1,
      resetId: "42",
      positions: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
    };
    const detection = {
      detectedAtMs: now,
      partitions: [
        {
          partition: 0,
          storedOffset: "1000",
          logStartOffset: "0",
          logEndOffset: "3",
          reason: "offset_beyond_log_end",
        },
      ],
    };
    expect(await store.recordResetDetection(detection, 0)).toBe(true);
    expect((await store.readMeta())?.resetDetected?.partitions[0]?.partition).toBe(0);
    expect(await store.resetPositions(step)).toBe("moved");
    // A finding made before the reset (generation 0) cannot reappear after it.
    expect(await store.recordResetDetection(detection, 0)).toBe(false);
    expect(await store.resetPositions(step)).toBe("already_moved");
    expect(await store.resetPositions({ ...step, fromGeneration: 3, toGeneration: 4 })).toBe(
      "generation_moved",
    );
    const after = await store.readMeta();
    expect(after).toMatchObject({
      generation: 1,
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
      resetDetected: null,
      lastReset: { id: "42" },
    });

    // The stale store cannot commit positions of the old generation (its spend is refused as a batch).
    const { progress } = toSpendRecords(secondLog.slice(0, 5));
    expect(Math.max(...progress.map((p) => p.offset))).toBeGreaterThan(0);
    const refused = await stale.applyBatch([], progress);
    expect(refused.status).toBe("generation_changed");
    expect((await store.readMeta())?.offsets).toEqual(after?.offsets);

    store.adopt(after!);
    expect(store.lineageTopic).toBe("clicks#g1");
    await apply(store, secondLog);
    expect(diffAgainstOracle(await store.readStates(), oracle.servingStateAt(now))).toEqual([]);
    // Applied offsets are kept per generation in the advertiser hashes.
    const spender = toSpendRecords(secondLog).records[0]!.advertiserId;
    const fields = Object.keys(await redis.hgetall(store.keys.advertiser(spender)));
    expect(fields.filter((f) => f.startsWith("_off:clicks#g1:")).length).toBeGreaterThan(0);
  });

  it("a rebuild takes the generation of its snapshot (the warehouse's)", async () => {
    const store = new SpendStore({ redis, topic: "rebuilt", prefix, clock: () => Date.now() });
    await store.loadScripts();
    await store.createSentinel();
    const period = store.currentPeriod();
    await store.restore({ period, advertisers: [], offsets: [{ partition: 0, offset: 7 }], generation: 2 });
    expect((await store.readMeta())?.generation).toBe(2);
    expect(store.generation).toBe(2);
    // A replay rebuild (no generation) keeps the one Redis had.
    await store.restore({ period, advertisers: [], offsets: [] });
    expect((await store.readMeta())?.generation).toBe(2);
  });
});
