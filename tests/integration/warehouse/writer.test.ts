import { type GeneratedRecord, type GeneratorOptions, generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import {
  hourlyCounts,
  type KafkaRecord,
  PartitionCache,
  periodSpendByAdvertiser,
  readRebuildSnapshot,
  reprocess,
  storedOffsets,
  writeBatch,
} from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bronzeByReason,
  createTestDatabase,
  expectedBronzeByReason,
  expectedGold,
  outcomeTimelines,
  readGold,
  type TestDatabase,
  viewsVersusOracle,
} from "./support.js";

const PARTITIONS = 4;
const TOPIC = "writer-test";
const GROUP = "writer-test-group";

/** Splits a generated stream over partitions by key (null keys round-robin), assigning offsets like Kafka would. */
function partitionStream(records: readonly GeneratedRecord[]): KafkaRecord[][] {
  const partitions: KafkaRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  let roundRobin = 0;
  for (const record of records) {
    const p =
      record.key === null
        ? roundRobin++ % PARTITIONS
        : [...record.key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % PARTITIONS;
    const list = partitions[p]!;
    list.push({
      topic: TOPIC,
      partition: p,
      offset: String(list.length),
      timestampMs: record.timestampMs,
      key: record.key === null ? null : Buffer.from(record.key),
      value: record.value,
    });
  }
  return partitions;
}

describe.each<[string, GeneratorOptions]>([
  ["budget_update events", { seed: 404, events: 12_000, advertisers: 25 }],
  // Operator budgets (api and plain budget_update) interleaved with clicks that carry the advertisers' own.
  [
    "operator budgets among click-carried ones",
    { seed: 405, events: 8_000, advertisers: 20, budgetChannel: "clicks", shares: { operatorBudget: 0.01 } },
  ],
  // hard_cap advertisers among observe ones (mode switches, budget raises and cuts, late clicks, duplicates),
  // budgets small enough to be spent within the stream: the writer bills by the clamp.
  [
    "hard_cap advertisers",
    {
      seed: 406,
      events: 8_000,
      advertisers: 20,
      hardCapShare: 0.5,
      budgetMicros: { min: 1_000_000, max: 60_000_000 },
      shares: { operatorBudget: 0.01 },
    },
  ],
])("writeBatch against Postgres, %s (one database per stream)", (name, streamOptions) => {
  let db: TestDatabase;
  // Day partitions are known per database: the module's shared cache would skip them in the second one.
  const known = { partitions: new PartitionCache() };
  const records = [...generateStream(streamOptions)];
  const partitions = partitionStream(records);
  // The oracle sees each advertiser's records in partition order (all of an advertiser are in one partition).
  const oracle = new Oracle({ keepOutcomes: true });
  for (const list of partitions)
    for (const r of list) oracle.observe({ value: r.value, timestampMs: r.timestampMs });

  beforeAll(async () => {
    db = await createTestDatabase(
      name.startsWith("operator") ? "writer_ops" : name.startsWith("hard_cap") ? "writer_cap" : "writer",
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a batch delivered twice is written once (offsets filter replays, in one transaction)", async () => {
    const client = await db.pool.connect();
    try {
      const first = partitions[0]!.slice(0, 300);
      const a = await writeBatch(client, { pipeline: GROUP, records: first }, known);
      expect(a.written).toBe(300);
      expect(a.replayed).toBe(0);
      const again = await writeBatch(client, { pipeline: GROUP, records: first }, known);
      expect(again.written).toBe(0);
      expect(again.replayed).toBe(300);
      // An overlapping delivery writes only the new tail.
      const overlap = await writeBatch(
        client,
        { pipeline: GROUP, records: partitions[0]!.slice(200, 400) },
        known,
      );
      expect(overlap.written).toBe(100);
      expect(overlap.replayed).toBe(100);
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic = $1 AND partition = 0",
        [TOPIC],
      );
      expect(Number(rows[0]!.n)).toBe(400);
      expect(await storedOffsets(client, { topic: TOPIC, pipeline: GROUP })).toEqual([
        { partition: 0, offset: "400", generation: 0 },
      ]);
    } finally {
      client.release();
    }
  });

  it("the generated stream (4 partitions, crossing midnight) produces exactly the oracle's Gold, Bronze and views", async () => {
    const client = await db.pool.connect();
    try {
      // Interleave partitions in batches of 250, replaying every batch once more (as after a crash).
      for (let start = 0; ; start += 250) {
        const slices = partitions
          .map((list) => list.slice(start, start + 250))
          .filter((slice) => slice.length > 0);
        if (slices.length === 0) break;
        for (const slice of slices) {
          await writeBatch(client, { pipeline: GROUP, records: slice }, known);
          const replay = await writeBatch(client, { pipeline: GROUP, records: slice }, known);
          expect(replay.written).toBe(0);
        }
      }
    } finally {
      client.release();
    }
    const gold = await readGold(db.pool);
    expect(gold.length).toBeGreaterThan(100);
    expect(gold).toEqual(expectedGold(oracle));
    if (streamOptions.budgetChannel === "clicks") {
      const sources = new Set(gold.map((row) => row.budgetSource));
      expect(sources).toEqual(new Set([null, "click", "api", "budget_update"]));
    }
    const overCapRows = gold.filter((row) => (row.overCapMicros as number) > 0).length;
    if (streamOptions.hardCapShare === undefined) expect(overCapRows).toBe(0);
    else expect(overCapRows).toBeGreaterThan(5);
    expect(await bronzeByReason(db.pool)).toEqual(expectedBronzeByReason(oracle));
    const silver = await db.pool.query<{ clean: string; dups: string; valid: string }>(
      `SELECT (SELECT count(*) FROM silver.ad_click_events_clean)::text AS clean,
              (SELECT count(*) FROM silver.duplicate_clicks)::text AS dups,
              (SELECT count(*) FROM silver.ad_click_events_clean WHERE is_valid)::text AS valid`,
    );
    const expectedSilver = oracle.silver();
    expect(Number(silver.rows[0]!.clean)).toBe(expectedSilver.events - expectedSilver.duplicates);
    expect(Number(silver.rows[0]!.dups)).toBe(expectedSilver.duplicates);
    expect(Number(silver.rows[0]!.valid)).toBe(expectedSilver.valid);
    // A click_id is at most once per advertiser among Silver's clean rows.
    const repeated = await db.pool.query(
      `SELECT advertiser_id, click_id FROM silver.ad_click_events_clean WHERE event_type = 'ad_click' AND click_id IS NOT NULL
       GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(repeated.rowCount).toBe(0);

    const { actual, expected } = await viewsVersusOracle(db.pool, oracle, outcomeTimelines(oracle));
    for (const viewName of Object.keys(expected)) {
      expect(actual[viewName]!.length, viewName).toBeGreaterThan(0);
      expect(actual[viewName], viewName).toEqual(expected[viewName]);
    }
  });

  it("period spend for the tracker's rebuild equals the oracle's serving state", async () => {
    const lastRecordMs = records.at(-1)!.timestampMs;
    const state = oracle.servingStateAt(lastRecordMs);
    const period = state[0]!;
    const client = await db.pool.connect();
    try {
      const spend = await periodSpendByAdvertiser(client, {
        periodStartMs: period.periodStartMs,
        periodEndMs: period.periodEndMs,
      });
      const byId = new Map(spend.map((s) => [s.advertiserId, s]));
      for (const expected of state) {
        const actual = byId.get(expected.advertiserId);
        if (actual === undefined) {
          // Only advertisers without clicks or budget (seen on invalid events alone) may be absent.
          expect(expected.budgetMicros).toBeNull();
          expect(expected.clicks).toBe(0);
          continue;
        }
        expect(
          [
            actual.netMicros,
            actual.grossMicros,
            actual.clicks,
            actual.budgetMicros,
            actual.budgetSource,
            actual.overCapMicros,
            actual.mode ?? "observe",
          ],
          expected.advertiserId,
        ).toEqual([
          expected.netMicros,
          expected.grossMicros,
          expected.clicks,
          expected.budgetMicros,
          expected.budgetSource,
          expected.overCapMicros,
          expected.mode,
        ]);
      }
    } finally {
      client.release();
    }
    const snapshot = await readRebuildSnapshot(db.pool, {
      topic: TOPIC,
      pipeline: GROUP,
      periodStartMs: period.periodStartMs,
      periodEndMs: period.periodEndMs,
    });
    expect(snapshot.offsets).toEqual(
      partitions.map((list, partition) => ({ partition, offset: String(list.length), generation: 0 })),
    );
  });

  it("reprocessing a range from Bronze is idempotent and reproduces Gold exactly; counts show no gaps", async () => {
    const firstMs = records[0]!.timestampMs;
    const lastMs = records.at(-1)!.timestampMs;
    const before = await readGold(db.pool);
    const partial = await reprocess(db.pool, { fromMs: firstMs + 3_600_000, toMs: firstMs + 3 * 3_600_000 });
    expect(partial.records).toBeGreaterThan(1_000);
    expect(await readGold(db.pool)).toEqual(before);
    const whole = await reprocess(db.pool, { fromMs: firstMs, toMs: lastMs + 1, pageSize: 1_000 });
    expect(whole.records).toBe(records.length);
    expect(await readGold(db.pool)).toEqual(before);
    expect(await reprocess(db.pool, { fromMs: firstMs, toMs: lastMs + 1 })).toMatchObject({
      records: records.length,
    });
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));

    const counts = await hourlyCounts(db.pool, {
      fromMs: firstMs - 10 * 86_400_000,
      toMs: lastMs + 7_200_000,
    });
    expect(counts.filter((c) => c.problems.length > 0)).toEqual([]);
    expect(counts.reduce((sum, c) => sum + c.bronze, 0)).toBe(records.length);
  });
});
