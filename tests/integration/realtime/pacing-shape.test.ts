import { formatServeFraction, parseShape, trafficShapeOf } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { advertiserKey } from "@adpipe/serving-client";
import { shapeHistory } from "@adpipe/warehouse";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { useRealtimePipeline } from "./support/pipeline.js";

// shaped pacing learns the advertiser's traffic shape from Gold's last 7 days (real Postgres rows), through the
// tracker's shape refresh into `_shape`, and paces by it in Redis: held back or served unlike `even`.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DAY_START = Date.UTC(2026, 5, 8);

describe("budget-tracker shaped pacing from Gold", () => {
  // 06:30 UTC: even allows 27 % (+5 % tolerance) of the day's budget. Today's records fall in the hour in
  // progress (06:00), which the shape leaves out: Gold's today never counts as a day of history here.
  const now = DAY_START + 6.5 * HOUR;
  const hourStart = DAY_START + 6 * HOUR;
  const pipeline = useRealtimePipeline({
    name: "rt-shape",
    partitions: 1,
    ingestor: {},
    tracker: {
      env: {
        PACING_CHECK_INTERVAL_MS: "100",
        PACING_SHAPE_REFRESH_INTERVAL_MS: "200",
        PACING_TOLERANCE_PCT: "5",
      },
      options: { clock: () => now },
    },
  });

  /** Gold rows: `advertiserId` spent 1.5 in each UTC hour of `hours` on each of the 7 days before today. */
  async function goldHistory(advertiserId: string, hours: readonly number[], days = 7): Promise<void> {
    await pipeline.database.pool.query(
      `INSERT INTO gold.advertiser_spend
         (advertiser_id, gross_spend, net_spend, record_count, window_start, window_end,
          spend_hour, spend_day, spend_month, valid_clicks)
       SELECT $1, 1.5, 1.5, 1, w, w + interval '1 hour', w, date_trunc('day', w, 'UTC'),
              date_trunc('month', w, 'UTC'), 1
       FROM unnest($2::bigint[]) AS d(day), unnest($3::int[]) AS h(hour),
            LATERAL (SELECT 'epoch'::timestamptz + ($4::bigint - d.day * $5::bigint + h.hour * $6::bigint)
                                                   * interval '1 millisecond' AS w) x`,
      [advertiserId, Array.from({ length: days }, (_, i) => i + 1), hours, DAY_START, DAY, HOUR],
    );
  }

  const record = (key: string, value: object, timestampMs: number) => ({
    key,
    value: Buffer.from(JSON.stringify(value)),
    timestampMs,
  });

  it("paces a morning advertiser by its shape (served), an evening one and one without history like even", async () => {
    const { topic, reader, redis, prefix } = pipeline;
    // morning: all its traffic 00:00-05:59 UTC, so by 06:00 its whole day's allowance is open.
    await goldHistory("morning", [0, 1, 2, 3, 4, 5]);
    // evening: traffic 18:00-21:59 only, so at 06:00 its target is 0 (tolerance 5 only).
    await goldHistory("evening", [18, 19, 20, 21]);
    // sparse: history on 2 days only (< 3 active days): not enough, paces even.
    await goldHistory("sparse", [0, 1, 2, 3, 4, 5], 2);
    const ids = ["morning", "evening", "sparse", "flat"];
    const records = ids.flatMap((id, n) => [
      record(
        id,
        {
          event_type: "budget_update",
          advertiser_id: id,
          budget_value: 100,
          pacing: id === "flat" ? "even" : "shaped",
          timestamp: new Date(hourStart).toISOString(),
        },
        hourStart,
      ),
      // 20 spent of 100: even serves in full at 06:30 (20 <= target 27).
      ...[0, 1].map((i) =>
        record(
          id,
          {
            event_type: "ad_click",
            click_id: `${id}-${i}`,
            advertiser_id: id,
            amount: 10,
            timestamp: new Date(hourStart + n * 10 + i + 1).toISOString(),
          },
          hourStart + n * 10 + i + 1,
        ),
      ),
    ]);
    await produceRecords(topic.kafka, topic.topic, records);
    await waitCaughtUp(reader, topic.kafka, topic.topic);

    // The shapes the tracker learns are trafficShapeOf of the same Gold rows (one query for all advertisers).
    const history = await shapeHistory(pipeline.database.pool, ids, DAY_START + 6 * HOUR);
    const shapes = new Map<string, number[]>();
    for (const id of ids) {
      const shape = trafficShapeOf(history.get(id) ?? [], "UTC", DAY_START + 6 * HOUR);
      if (shape !== null) shapes.set(id, shape);
    }
    expect([...shapes.keys()].sort()).toEqual(["evening", "morning"]);
    for (const id of ["morning", "evening"]) {
      await eventually(`_shape of ${id}`, async () => {
        const field = await redis.hget(advertiserKey(id, prefix), "_shape");
        return JSON.stringify(parseShape(field)) === JSON.stringify(shapes.get(id));
      });
    }
    expect(await redis.hget(advertiserKey("sparse", prefix), "_shape")).toBeNull();
    expect(await redis.hget(advertiserKey("flat", prefix), "_shape")).toBeNull();

    // The oracle predicts every hash from the records and the shapes (pacingDecisionsAt).
    const oracle = new Oracle().observeAll(records);
    const predictions = oracle.pacingDecisionsAt(now, 500, shapes);
    for (const { advertiserId, decision } of predictions) {
      const key = advertiserKey(advertiserId, prefix);
      await eventually(`${advertiserId} as predicted`, async () => {
        const [canServe, reason, fraction] = await redis.hmget(key, "can_serve", "reason", "serve_fraction");
        return (
          canServe === (decision.canServe ? "1" : "0") &&
          (reason ?? null) === decision.reason &&
          fraction === formatServeFraction(decision.serveFractionBp)
        );
      });
    }
    const state = async (id: string) =>
      redis.hmget(advertiserKey(id, prefix), "can_serve", "reason", "serve_fraction");
    // morning: the day's traffic is behind it, allowance = budget: served in full.
    expect(await state("morning")).toEqual(["1", null, "1"]);
    // evening: its traffic has not started: 20 spent is beyond target 0 + tolerance 5: held back.
    expect(await state("evening")).toEqual(["0", "ahead_of_pace", "0"]);
    // sparse (no usable shape) and flat (even) pace alike: 20 <= even target 27.
    expect(await state("sparse")).toEqual(["1", null, "1"]);
    expect(await state("flat")).toEqual(["1", null, "1"]);
  });
});
