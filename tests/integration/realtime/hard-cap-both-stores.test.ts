import { Oracle } from "@adpipe/core/testing";
import { describe, expect, it } from "vitest";
import { expectedGold, readGold } from "../warehouse/support.js";
import { produceRecords, waitCaughtUp } from "./support/harness.js";
import { redisDiffFromOracle, runRebuildRedis, useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";
import { acrossLastMidnight } from "./support/wall-clock.js";

// Hard caps end to end: one generated stream with hard_cap advertisers among observe ones (mode switches,
// budget raises and cuts by operators, out-of-order and late clicks, duplicates, a midnight inside it) goes
// through the real broker into BOTH stores, the ingestor (Bronze/Silver/Gold in Postgres) and the tracker
// (Redis). Gold (net and over_cap_spend), Silver's per-click split and the Redis hashes must equal the oracle
// to the micro-unit; then `adpipe rebuild-redis` rebuilds Redis from the warehouse and it still does.

// Wall clock (the rebuild command has none injected): the stream ends now and crosses the last midnight with
// half of it on each side, so both periods matter at whatever hour the suite runs.
const window = await acrossLastMidnight();
const stream = generated({
  seed: 71,
  events: 8_000,
  advertisers: 24,
  startMs: window.startMs,
  spanMs: window.spanMs,
  hardCapShare: 0.5,
  budgetMicros: { min: 1_000_000, max: 60_000_000 },
  shares: { operatorBudget: 0.01 },
});
const oracle = new Oracle().observeAll(stream);

const pipeline = useRealtimePipeline({
  name: "rt-cap-both",
  partitions: 3,
  ingestor: { env: { INGESTOR_MAX_BATCH_RECORDS: "500" } },
  tracker: { env: { RECONCILE_INTERVAL_MS: "0" } },
});

/** Redis equals the oracle now (retried for a few seconds in case a period rolls over between apply and check). */
async function expectRedisExact(): Promise<void> {
  expect(await redisDiffFromOracle(pipeline.reader, oracle)).toEqual([]);
}

describe("hard_cap advertisers through Kafka into both stores", () => {
  it("the stream exercises what the clamp must get right", () => {
    const values = stream.map((r) => Buffer.from(r.value).toString("utf8"));
    expect(values.some((v) => v.includes('"budget_mode":"hard_cap"'))).toBe(true);
    expect(values.some((v) => v.includes('"budget_mode":"observe"'))).toBe(true);
    expect(oracle.silver().duplicates).toBeGreaterThan(0);
    const gold = oracle.goldRows();
    expect(gold.some((row) => row.overCapMicros > 0)).toBe(true);
    // Over_cap in more than one budget period (the stream crosses midnight UTC).
    expect(new Set(gold.filter((row) => row.overCapMicros > 0).map((row) => row.spendDayMs)).size).toBe(2);
    // ...and in the period the tracker holds at the stream's end, so the Redis comparison covers over_cap too.
    const atEnd = oracle.servingStateAt(window.endMs);
    expect(atEnd.some((state) => state.mode === "hard_cap" && state.overCapMicros > 0)).toBe(true);
  });

  it("Gold, Silver and Redis equal the oracle to the micro-unit", async () => {
    const { topic, reader, database } = pipeline;
    await produceRecords(topic.kafka, topic.topic, stream);
    await Promise.all([
      waitCaughtUp(reader, topic.kafka, topic.topic, 120_000),
      pipeline.ingestorCaughtUp(120_000),
    ]);

    expect(await readGold(database.pool)).toEqual(expectedGold(oracle));

    // Silver: each clean row carries its click's split; per Gold key they add up to the oracle's.
    const { rows } = await database.pool.query<{ id: string; ws: string; net: string; over: string }>(
      `SELECT advertiser_id AS id, (extract(epoch FROM gold_window_start) * 1000)::bigint::text AS ws,
              sum(contrib_net_micros)::text AS net, sum(contrib_over_cap_micros)::text AS over
       FROM silver.ad_click_events_clean WHERE gold_window_start IS NOT NULL
       GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const silver = rows.map((r) => [r.id, Number(r.ws), Number(r.net), Number(r.over)]);
    const expected = oracle
      .goldRows()
      .filter((row) => row.recordCount > 0)
      .map((row) => [row.advertiserId, row.windowStartMs, row.netMicros, row.overCapMicros]);
    expect(silver).toEqual(expected);
    const split = await database.pool.query<{ bad: string }>(
      `SELECT count(*)::text AS bad FROM silver.ad_click_events_clean
       WHERE contrib_net_micros + contrib_over_cap_micros <> contrib_gross_micros AND is_valid`,
    );
    expect(split.rows[0]?.bad).toBe("0");

    // Compared at the wall clock's now: exact also when a UTC midnight passed since the stream ended.
    await expectRedisExact();
  });

  it("`adpipe rebuild-redis` replaces Redis with the warehouse's state (mode, over_cap included): still exact", async () => {
    const code = await runRebuildRedis(pipeline);
    expect(code).toBe(0);
    await expectRedisExact();
  });
});
