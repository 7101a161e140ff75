/**
 * Gold freshness: measured from the newest event not dated in the future, with future-dated
 * rows reported apart, never as a negative freshness or a freshness clamped to 0.
 */
import { readGoldFreshness } from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase("gold_freshness");
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

/** A Gold row for `advertiser` whose newest event is `offsetSeconds` from the database's now. */
async function goldRow(advertiser: string, offsetSeconds: number): Promise<void> {
  await db.pool.query(
    `WITH t AS (SELECT now() + make_interval(secs => $2) AS event)
     INSERT INTO gold.advertiser_spend (advertiser_id, window_start, window_end, spend_hour, spend_day, spend_month,
                                        last_event_time)
     SELECT $1, date_trunc('hour', event), date_trunc('hour', event) + interval '1 hour', date_trunc('hour', event),
            date_trunc('day', event), date_trunc('month', event), event
     FROM t`,
    [advertiser, offsetSeconds],
  );
}

describe("Gold freshness", () => {
  test("an empty Gold has no freshness and no future rows", async () => {
    expect(await readGoldFreshness(db.pool)).toMatchObject({
      freshnessSeconds: null,
      newestEventAt: null,
      future: null,
    });
  });

  test("future-dated rows do not make Gold look fresh: freshness comes from the newest non-future event", async () => {
    await goldRow("adv-old", -7_200);
    await goldRow("adv-recent", -42);
    await goldRow("adv-skewed", 3_705);
    await goldRow("adv-skewed-2", 1_800);

    const freshness = await readGoldFreshness(db.pool);
    expect(freshness.freshnessSeconds).not.toBeNull();
    expect(freshness.freshnessSeconds ?? -1).toBeGreaterThanOrEqual(42);
    expect(freshness.freshnessSeconds ?? -1).toBeLessThan(42 + 30);
    expect(freshness.future).toMatchObject({ rows: 2, advertisers: 2 });
    expect(freshness.future?.aheadSeconds ?? 0).toBeGreaterThan(3_705 - 30);
    expect(freshness.future?.aheadSeconds ?? 0).toBeLessThanOrEqual(3_705);
  });

  test("only future-dated events: no freshness to report (not 0), and the warning carries them", async () => {
    await db.pool.query("DELETE FROM gold.advertiser_spend WHERE last_event_time <= now()");
    const freshness = await readGoldFreshness(db.pool);
    expect(freshness.freshnessSeconds).toBeNull();
    expect(freshness.future?.rows).toBe(2);
  });
});
