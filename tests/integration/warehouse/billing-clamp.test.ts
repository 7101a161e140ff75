import { canonicalTimeZone } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { PartitionCache, replayBatch, reprocess, writeBatch } from "@adpipe/warehouse";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BILLING_KAFKA_MS,
  billingRecords,
  billingRun,
  cut,
} from "../../../packages/warehouse/test/billing-log.js";
import { createTestDatabase, type TestDatabase } from "./support.js";

// The billing clamp as Postgres applies it (billing_state.sql read + billRecords + write_batch), against the
// oracle: arbitrary logs of clicks, duplicates, late clicks, budget raises and cuts and mode switches, under
// every budget period and time zones off whole hours (periods that cut through Gold's UTC hours), cut into
// arbitrary batches, through the ingestor's writeBatch or the Capture replay. Updates also set advertisers' own
// budget_period / time_zone (clickPeriodOf: a change restarts the period), before, inside and across batches.
// Gold's period_net_spend / can_serve are compared too (goldRowPeriodNet for the advertisers whose calendar
// changed). Each run uses its own topic and advertiser ids in one database.

let db: TestDatabase;
const known = { partitions: new PartitionCache() };
let run = 0;

beforeAll(async () => {
  db = await createTestDatabase("billing_clamp", { poolMax: 2 });
});
afterAll(async () => {
  await db?.drop();
});

async function goldOf(prefix: string): Promise<[string, number, number, number, number][]> {
  const { rows } = await db.pool.query<{ id: string; ws: string; gross: string; net: string; over: string }>(
    `SELECT advertiser_id AS id, (extract(epoch FROM window_start) * 1000)::bigint::text AS ws,
            (gross_spend * 1000000)::bigint::text AS gross, (net_spend * 1000000)::bigint::text AS net,
            (over_cap_spend * 1000000)::bigint::text AS over
     FROM gold.advertiser_spend WHERE starts_with(advertiser_id, $1) ORDER BY advertiser_id, window_start`,
    [prefix],
  );
  return rows.map((r) => [r.id, Number(r.ws), Number(r.gross), Number(r.net), Number(r.over)]);
}

/** Each Gold hour's period_net_spend (micros) and can_serve. */
async function servingOf(prefix: string): Promise<[string, number, number, boolean][]> {
  const { rows } = await db.pool.query<{ id: string; ws: string; pn: string; cs: boolean }>(
    `SELECT advertiser_id AS id, (extract(epoch FROM window_start) * 1000)::bigint::text AS ws,
            (period_net_spend * 1000000)::bigint::text AS pn, can_serve AS cs
     FROM gold.advertiser_spend WHERE starts_with(advertiser_id, $1) ORDER BY advertiser_id, window_start`,
    [prefix],
  );
  return rows.map((r) => [r.id, Number(r.ws), Number(r.pn), r.cs]);
}

describe("the billing clamp in Postgres", () => {
  it("bills any log, cut into any batches, as the oracle does; reprocessing part of it changes nothing", async () => {
    let clamped = 0;
    await fc.assert(
      fc.asyncProperty(billingRun, async (billing) => {
        run += 1;
        const topic = `clamp-${run}`;
        const prefix = `r${run}-`;
        // The oracle canonicalises its default zone (Asia/Kolkata: ICU's Asia/Calcutta); the stores compare
        // the names as configured: configure the canonical one so that both see the same changes of calendar.
        const rules = { budgetPeriod: billing.budgetPeriod, timeZone: canonicalTimeZone(billing.timeZone) };
        const records = billingRecords(billing.log, topic, prefix, run);
        const oracle = new Oracle(rules).observeAll(
          records.map((r) => ({ value: r.value, timestampMs: r.timestampMs })),
        );
        const expected = oracle
          .goldRows()
          .map((row) => [
            row.advertiserId,
            row.windowStartMs,
            row.grossMicros,
            row.netMicros,
            row.overCapMicros,
          ]);

        const client = await db.pool.connect();
        try {
          for (const batch of cut(records, billing.batchSizes)) {
            // Every fourth run goes through the Capture replay path instead (into a topic nobody ingests).
            if (run % 4 === 1) {
              await replayBatch(client, batch, { ...known, ...rules, livePipeline: null });
              continue;
            }
            await writeBatch(
              client,
              { pipeline: `clamp-group-${run}`, records: batch },
              { ...known, ...rules },
            );
          }
        } finally {
          client.release();
        }
        const gold = await goldOf(prefix);
        expect(gold).toEqual(expected);
        // Each hour's period_net_spend and can_serve (goldRowPeriodNet for advertisers whose calendar changed),
        // in every zone: those off whole hours cut Gold hours at period bounds.
        const serving = oracle
          .goldRows()
          .map((row) => [row.advertiserId, row.windowStartMs, row.periodNetMicros, row.canServe]);
        expect(await servingOf(prefix)).toEqual(serving);
        if (gold.some((row) => row[4] > 0)) clamped += 1;

        // The run's records share one Kafka time of their own: rebuilding them from Bronze bills them again.
        if (run % 3 === 0) {
          const kafkaMs = BILLING_KAFKA_MS + run;
          await reprocess(db.pool, { fromMs: kafkaMs, toMs: kafkaMs + 1, ...rules });
          expect(await goldOf(prefix)).toEqual(expected);
        }
      }),
      {
        numRuns: 30,
        examples: [
          // A click in the service-wide Kathmandu hour 22:00–23:00 UTC after its period (21:45–22:45) ended: the
          // row's period-to-date net is 0 (gold_reevaluate_serving once summed the whole Gold hour).
          [
            {
              log: [
                {
                  kind: "click",
                  advertiser: 0,
                  id: 0,
                  amountMicros: 1,
                  minute: -61,
                  valid: true,
                  budgetMicros: null,
                },
                {
                  kind: "update",
                  advertiser: 0,
                  budgetMicros: 0,
                  mode: null,
                  minute: 0,
                  api: false,
                  budgetPeriod: "day",
                  timeZone: null,
                },
              ],
              budgetPeriod: "hour",
              timeZone: "Asia/Kathmandu",
              batchSizes: [1],
            },
          ],
          // A hard_cap advertiser switches from the service-wide Kathmandu hours to UTC hours: the period restarts,
          // so the click after the switch fits under the budget again (billing_state once summed the old period).
          [
            {
              log: [
                { kind: "update", advertiser: 0, budgetMicros: 1, mode: null, minute: 0, api: false },
                {
                  kind: "click",
                  advertiser: 0,
                  id: 0,
                  amountMicros: 1,
                  minute: 1095,
                  valid: true,
                  budgetMicros: null,
                },
                {
                  kind: "update",
                  advertiser: 0,
                  budgetMicros: 0,
                  mode: "hard_cap",
                  minute: -1,
                  api: false,
                  budgetPeriod: null,
                  timeZone: "UTC",
                },
                {
                  kind: "click",
                  advertiser: 0,
                  id: 1,
                  amountMicros: 1,
                  minute: 1095,
                  valid: true,
                  budgetMicros: null,
                },
              ],
              budgetPeriod: "hour",
              timeZone: "Asia/Kathmandu",
              batchSizes: [1],
            },
          ],
        ],
      },
    );
    expect(clamped).toBeGreaterThan(3);
  }, 300_000);
});
