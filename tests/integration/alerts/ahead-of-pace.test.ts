import { AlertEvaluator } from "@adpipe/alerts";
import { advertiserKey } from "@adpipe/serving-client";
import { readAheadOfPace } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "../realtime/support/harness.js";
import { useRealtimePipeline } from "../realtime/support/pipeline.js";

// ahead_of_pace alerts end to end: budget updates (pacing even) and clicks through the real broker into the
// budget-tracker (Redis, injected clock) and the ingestor (Postgres). The alerter's source is the tracker's Redis
// hashes (reason ahead_of_pace); two evaluator replicas passing at once, later passes, a new evaluator (a
// restart) and a pass after the hash was deleted and recreated (a rebuild) fire exactly one alert per advertiser
// and period (alerts.fired's fired_once key); the next period fires again.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DAY_START = Date.UTC(2026, 6, 1);
let now = DAY_START + 6 * HOUR;

const pipeline = useRealtimePipeline({
  name: "ahead-alert",
  partitions: 1,
  ingestor: {},
  tracker: {
    env: { PACING_CHECK_INTERVAL_MS: "100", PACING_TOLERANCE_PCT: "5", ROLLOVER_CHECK_INTERVAL_MS: "100" },
    options: { clock: () => now },
  },
});

const record = (value: object, timestampMs: number) => ({
  key: String((value as { advertiser_id: string }).advertiser_id),
  value: Buffer.from(JSON.stringify(value)),
  timestampMs,
});

/** A budget of 100 paced even, then 40 spent right away: at 06:00 the allowance is 30, so ahead of pace. */
function burst(advertiserId: string, atMs: number, tag: string) {
  return [
    record(
      {
        event_type: "budget_update",
        advertiser_id: advertiserId,
        budget_value: 100,
        pacing: "even",
        timestamp: new Date(atMs).toISOString(),
      },
      atMs,
    ),
    ...[0, 1, 2, 3].map((i) =>
      record(
        {
          event_type: "ad_click",
          click_id: `${tag}-${advertiserId}-${i}`,
          advertiser_id: advertiserId,
          amount: 10,
          timestamp: new Date(atMs + i + 1).toISOString(),
        },
        atMs + i + 1,
      ),
    ),
  ];
}

describe("ahead_of_pace alerts from the tracker's Redis hashes", () => {
  it("fire once per advertiser and period, across replicas, restarts and rebuilds", async () => {
    const { topic, reader, redis, prefix, database } = pipeline;
    const source = () => readAheadOfPace(redis, prefix, { period: "day", timeZone: "UTC" });
    const evaluator = () =>
      new AlertEvaluator({
        pool: database.pool,
        targets: [{ channel: "kafka", destination: "alerts-test" }],
        aheadOfPace: source,
      });
    const fired = async () =>
      (
        await database.pool.query<{ advertiser_id: string; period_id: string; threshold_pct: number }>(
          "SELECT advertiser_id, period_id, threshold_pct FROM alerts.fired WHERE kind = 'ahead_of_pace' ORDER BY 2, 1",
        )
      ).rows;

    await produceRecords(topic.kafka, topic.topic, [
      ...burst("fast", now - HOUR, "d1"),
      // Budget 100 paced even, 10 spent: within the allowance, never alerted.
      ...burst("slow", now - HOUR, "d1").slice(0, 2),
    ]);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    await eventually(
      "fast is held back",
      async () => (await redis.hget(advertiserKey("fast", prefix), "reason")) === "ahead_of_pace",
    );
    expect(await redis.hget(advertiserKey("slow", prefix), "reason")).toBeNull();

    // Two replicas at once, then again: one alert.
    const first = await Promise.all([evaluator().evaluate(now), evaluator().evaluate(now)]);
    expect(first.flat().filter((a) => a.kind === "ahead_of_pace")).toEqual([
      expect.objectContaining({ advertiserId: "fast", periodId: "2026-07-01", thresholdPct: 0 }),
    ]);
    expect((await evaluator().evaluate(now)).filter((a) => a.kind === "ahead_of_pace")).toEqual([]);

    // A rebuild: the hash is gone and comes back (still ahead of pace): no second alert.
    const key = advertiserKey("fast", prefix);
    const saved = await redis.hgetall(key);
    await redis.del(key);
    expect(await source()).toEqual([]);
    await redis.hset(key, saved);
    expect(await source()).toHaveLength(1);
    expect((await evaluator().evaluate(now)).filter((a) => a.kind === "ahead_of_pace")).toEqual([]);
    expect(await fired()).toEqual([{ advertiser_id: "fast", period_id: "2026-07-01", threshold_pct: 0 }]);

    // The next day: ahead of pace again, a new period, a new alert (once).
    now = DAY_START + DAY + 6 * HOUR;
    await produceRecords(topic.kafka, topic.topic, burst("fast", now - HOUR, "d2"));
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    await eventually(
      "fast is held back on day 2",
      async () =>
        (await redis.hmget(key, "reason", "period")).join() === ["ahead_of_pace", "2026-07-02"].join(),
    );
    await Promise.all([evaluator().evaluate(now), evaluator().evaluate(now)]);
    expect(await fired()).toEqual([
      { advertiser_id: "fast", period_id: "2026-07-01", threshold_pct: 0 },
      { advertiser_id: "fast", period_id: "2026-07-02", threshold_pct: 0 },
    ]);
  });

  it("fires an episode that began and ended between two alerter passes, once", async () => {
    const { topic, reader, redis, prefix, database } = pipeline;
    const source = () => readAheadOfPace(redis, prefix, { period: "day", timeZone: "UTC" });
    const evaluator = new AlertEvaluator({
      pool: database.pool,
      targets: [{ channel: "kafka", destination: "alerts-test" }],
      aheadOfPace: source,
    });
    const key = advertiserKey("brief", prefix);
    // Day 2, 07:00: 40 of 100 spent at 06:00 is ahead of the even allowance (34)...
    now = DAY_START + DAY + 7 * HOUR;
    await produceRecords(topic.kafka, topic.topic, burst("brief", now - HOUR, "b1"));
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    await eventually("brief is held back", async () => (await redis.hget(key, "reason")) === "ahead_of_pace");
    // ...and by 12:00 (allowance 55) it caught up: the pacing sweep serves it again before any alerter pass.
    now = DAY_START + DAY + 12 * HOUR;
    await eventually("brief serves again", async () => (await redis.hget(key, "reason")) === null);

    const alerts = [...(await evaluator.evaluate(now)), ...(await evaluator.evaluate(now))];
    expect(alerts.filter((a) => a.advertiserId === "brief" && a.kind === "ahead_of_pace")).toEqual([
      expect.objectContaining({ kind: "ahead_of_pace", periodId: "2026-07-02", thresholdPct: 0 }),
    ]);
    const rows = await database.pool.query<{ period_net_micros: string }>(
      "SELECT period_net_micros FROM alerts.fired WHERE kind = 'ahead_of_pace' AND advertiser_id = 'brief'",
    );
    // The amounts of the moment it went ahead.
    expect(rows.rows.map((r) => Number(r.period_net_micros))).toEqual([40_000_000]);
  });
});
