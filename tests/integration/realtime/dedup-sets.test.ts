import { parseEvent } from "@adpipe/core";
import { type SpendRecord, spendRecordOf } from "@adpipe/spend-store";
import { afterAll, describe, expect, it } from "vitest";
import { closeRedisStore, openRedisStore, type RedisStore } from "./support/redis-store.js";

// A slice far larger than usual (10,000 events of one advertiser), with duplicates inside the slice and of an
// earlier batch: every click counts exactly once and the dedup set holds each click id once.

const T0 = Date.UTC(2026, 10, 25, 12);
let opened: RedisStore | undefined;

afterAll(async () => {
  await closeRedisStore(opened?.redis, opened?.prefix);
});

function recordsOf(values: object[], firstOffset: number): SpendRecord[] {
  return values.map((value, i) => {
    const parsed = parseEvent(JSON.stringify(value), { referenceTimeMs: T0 });
    if (!parsed.ok) throw new Error(parsed.detail);
    return spendRecordOf(parsed, { partition: 0, offset: firstOffset + i, timestampMs: T0 }) as SpendRecord;
  });
}

const click = (id: string) => ({
  event_type: "ad_click",
  advertiser_id: "big",
  click_id: id,
  amount: 0.01,
  timestamp: T0,
});

describe("apply_slice dedup sets", () => {
  it("counts each click of a 10,000-event slice once, across chunks and batches", async () => {
    opened = await openRedisStore("rt-dedup", { clock: () => T0 });
    const { store, redis, prefix } = opened;
    // Batch 1: c0..c99. Batch 2: c0..c8999, then c0..c999 again (in-slice duplicates across chunk bounds).
    const first = recordsOf(
      Array.from({ length: 100 }, (_, i) => click(`c${i}`)),
      0,
    );
    expect((await store.applyBatch(first, [{ partition: 0, offset: 100 }])).status).toBe("applied");
    const second = recordsOf(
      [
        ...Array.from({ length: 9_000 }, (_, i) => click(`c${i}`)),
        ...Array.from({ length: 1_000 }, (_, i) => click(`c${i}`)),
      ],
      100,
    );
    const result = await store.applyBatch(second, [{ partition: 0, offset: 10_100 }]);
    expect(result.status).toBe("applied");
    expect(result.duplicates).toBe(100 + 1_000);
    const state = (await store.readStates()).get("big");
    expect(state?.clicks).toBe(9_000);
    expect(state?.netMicros).toBe(9_000 * 10_000);
    const sets: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}dedup:*`, "COUNT", 1000);
      sets.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    expect(sets).toHaveLength(1);
    expect(await redis.scard(sets[0] as string)).toBe(9_000);
  });
});
