/**
 * The warehouse across a topic reset: a batch fetched from a replaced log is refused, never dropped as
 * replays; the reset step moves every pipeline to the next generation once (a re-run changes nothing, a stale plan
 * is refused); the new log's records, at the same offsets as the old one's, are written and counted once, Gold
 * equals the oracle over both logs, and reprocessing across the generations reproduces it.
 */
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import {
  applyWarehouseReset,
  findUnfinishedReset,
  type KafkaRecord,
  markOffsetReset,
  readTopicGeneration,
  readWarehousePositions,
  replayBatch,
  reprocess,
  startOffsetReset,
  storedOffsets,
  WarehouseError,
  writeBatch,
} from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, expectedGold, readGold, type TestDatabase } from "./support.js";

const TOPIC = "reset-writer";
const GROUP = "reset-writer-group";

function asRecords(records: readonly GeneratedRecord[]): KafkaRecord[] {
  return records.map((record, offset) => ({
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    timestampMs: record.timestampMs,
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
  }));
}

describe("the warehouse across a topic reset", () => {
  let db: TestDatabase;
  const first = [...generateStream({ seed: 515, events: 1_500, advertisers: 8, runId: "first" })];
  const second = [
    ...generateStream({
      seed: 516,
      events: 600,
      advertisers: 8,
      runId: "second",
      startMs: first.at(-1)!.timestampMs + 60_000,
    }),
  ];

  beforeAll(async () => {
    db = await createTestDatabase("topicreset");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("writes the first log and refuses a batch fetched from a replaced one (stored offset > log end)", async () => {
    const client = await db.pool.connect();
    try {
      const result = await writeBatch(client, {
        pipeline: GROUP,
        records: asRecords(first),
        logEnds: [{ topic: TOPIC, partition: 0, endOffset: String(first.length) }],
      });
      expect(result.written).toBe(first.length);
      // The recreated topic: its record 0 arrives with a log end of 600 while 1,500 are stored.
      const batch = asRecords(second).slice(0, 100);
      const refused = await writeBatch(client, {
        pipeline: GROUP,
        records: batch,
        logEnds: [{ topic: TOPIC, partition: 0, endOffset: String(second.length) }],
      }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(WarehouseError);
      expect((refused as WarehouseError).code).toBe("ADP_WAREHOUSE_TOPIC_RESET");
      expect((refused as WarehouseError).resets).toEqual([
        { topic: TOPIC, partition: 0, generation: 0, storedOffset: "1500", logEndOffset: "600" },
      ]);
      // Nothing of the new log was written (and nothing counted as a replay).
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw",
      );
      expect(rows[0]?.n).toBe(String(first.length));
    } finally {
      client.release();
    }
  });

  it("the reset moves every pipeline to generation 1 once; a re-run or a stale plan changes nothing", async () => {
    const resetId = await startOffsetReset(db.pool, {
      topic: TOPIC,
      target: "earliest",
      actor: "vitest",
      reason: "topic recreated",
      source: "cli",
      plan: { newLog: true },
    });
    await expect(
      startOffsetReset(db.pool, {
        topic: TOPIC,
        target: "latest",
        actor: "someone else",
        reason: "racing",
        source: "cli",
        plan: {},
      }),
    ).rejects.toMatchObject({ code: "ADP_WAREHOUSE_RESET_REFUSED" });
    const step = {
      topic: TOPIC,
      resetId,
      fromGeneration: 0,
      toGeneration: 1,
      moves: [{ pipeline: GROUP, partition: 0, to: 0n }],
    };
    expect(await applyWarehouseReset(db.pool, step)).toBe("applied");
    expect(await applyWarehouseReset(db.pool, step)).toBe("already_applied");
    await expect(applyWarehouseReset(db.pool, { ...step, resetId: "999999" })).rejects.toMatchObject({
      code: "ADP_WAREHOUSE_RESET_REFUSED",
    });
    expect((await findUnfinishedReset(db.pool, TOPIC))?.warehouseAppliedAt).toBeInstanceOf(Date);
    await markOffsetReset(db.pool, resetId, "completed");
    expect(await findUnfinishedReset(db.pool, TOPIC)).toBeNull();

    expect(await readTopicGeneration(db.pool, TOPIC)).toEqual({ generation: 1, resetId });
    const client = await db.pool.connect();
    try {
      expect(await storedOffsets(client, { topic: TOPIC, pipeline: GROUP })).toEqual([
        { partition: 0, offset: "0", generation: 1 },
      ]);
      const { rows } = await client.query(
        'SELECT pipeline, generation, "partition", next_offset::text FROM ingest.generation_ends',
      );
      expect(rows).toEqual([{ pipeline: GROUP, generation: 0, partition: 0, next_offset: "1500" }]);
      // A writer that missed the reset (still generation 0) is refused: nothing written.
      await expect(
        writeBatch(client, { pipeline: GROUP, records: asRecords(second).slice(0, 10), generation: 0 }),
      ).rejects.toMatchObject({ code: "ADP_WAREHOUSE_GENERATION_CHANGED" });
    } finally {
      client.release();
    }
  });

  it("writes the new log at the same offsets under generation 1: Gold equals the oracle over both logs", async () => {
    const client = await db.pool.connect();
    try {
      const records = asRecords(second);
      for (let i = 0; i < records.length; i += 250) {
        const result = await writeBatch(client, {
          pipeline: GROUP,
          records: records.slice(i, i + 250),
          generation: 1,
          logEnds: [{ topic: TOPIC, partition: 0, endOffset: String(records.length) }],
        });
        expect(result.replayed).toBe(0);
      }
    } finally {
      client.release();
    }
    const oracle = new Oracle().observeAll([...first, ...second]);
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    const { rows } = await db.pool.query<{ g: number; n: string; lo: string; hi: string }>(
      `SELECT topic_generation AS g, count(*)::text AS n, min("offset")::text AS lo, max("offset")::text AS hi
         FROM bronze.ad_click_events_raw GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { g: 0, n: "1500", lo: "0", hi: "1499" },
      { g: 1, n: "600", lo: "0", hi: "599" },
    ]);
    const positions = await readWarehousePositions(db.pool, TOPIC);
    expect(positions.generation).toBe(1);
    expect(positions.pipelines.get(GROUP)).toEqual(new Map([[0, 600n]]));

    // Reprocessing a range spanning both logs rebuilds Silver/Gold from Bronze with each record's generation.
    const before = await readGold(db.pool);
    const all = await reprocess(db.pool, {
      fromMs: first[0]!.timestampMs,
      toMs: second.at(-1)!.timestampMs + 1,
      pageSize: 400,
    });
    expect(all.records).toBe(first.length + second.length);
    expect(await readGold(db.pool)).toEqual(before);
  });

  it("on the same log a reset only moves forward (a racing ingestor is never moved back)", async () => {
    const resetId = await startOffsetReset(db.pool, {
      topic: TOPIC,
      target: "latest",
      actor: "vitest",
      reason: "skip ahead",
      source: "cli",
      plan: {},
    });
    expect(
      await applyWarehouseReset(db.pool, {
        topic: TOPIC,
        resetId,
        fromGeneration: 1,
        toGeneration: 1,
        moves: [{ pipeline: GROUP, partition: 0, to: 100n }],
      }),
    ).toBe("applied");
    await markOffsetReset(db.pool, resetId, "completed");
    const positions = await readWarehousePositions(db.pool, TOPIC);
    expect(positions.pipelines.get(GROUP)).toEqual(new Map([[0, 600n]]));
    expect(positions.generation).toBe(1);
  });

  it("a Capture replay after the reset compares with the new log's rows, not the old log's", async () => {
    const third = [
      ...generateStream({
        seed: 517,
        events: 100,
        advertisers: 8,
        runId: "third",
        startMs: second.at(-1)!.timestampMs + 60_000,
      }),
    ];
    const client = await db.pool.connect();
    try {
      // Offsets 0..99 of the new log are in Bronze (generation 1): already present.
      const again = await replayBatch(client, asRecords(second).slice(0, 100), { livePipeline: null });
      expect(again).toMatchObject({ written: 0, alreadyPresent: 100 });
      // Offsets 600..699 exist only in the old log (generation 0): new records of the new log, written.
      const beyond = asRecords(third).map((r, i) => ({ ...r, offset: String(600 + i) }));
      const replayed = await replayBatch(client, beyond, { livePipeline: null });
      expect(replayed).toMatchObject({ written: 100, alreadyPresent: 0 });
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic_generation = 1",
    );
    expect(rows[0]?.n).toBe("700");
  });
});
