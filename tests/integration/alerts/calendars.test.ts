import { AlertEvaluator } from "@adpipe/alerts";
import { type AlertKey, alertKeyOf, budgetPeriodOf, GENERATOR_CALENDARS } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { describe, expect, it } from "vitest";
import { produceRecords } from "../realtime/support/harness.js";
import { useRealtimePipeline } from "../realtime/support/pipeline.js";
import { generated } from "../realtime/support/stream.js";

// Budget alerts of advertisers with a calendar of their own (budget_period / time_zone: New York, Berlin and
// Kolkata days, Kolkata and UTC hours, a New York month, lifetime) beside ones on the service-wide UTC day. The
// stream (02:00 to 08:00 UTC on 2026-11-01, the day New York falls back, across New York's midnight and month
// end) goes through the real broker into the ingestor (Postgres); evaluator replicas judge it at two instants,
// and what fired equals the oracle's alertsEvaluatedAt at those instants: each alert once, under the
// advertiser's own period id. A fresh evaluator (a restarted alerter) re-judging finds nothing new to fire.
// Budgets stay constant (no updates after the initial ones, which set the calendars).

const hourMs = 3_600_000;
const startMs = Date.UTC(2026, 10, 1, 2);
const stream = generated({
  seed: 1118,
  events: 4_000,
  advertisers: 28,
  startMs,
  spanMs: 6 * hourMs,
  budgetMicros: { min: 5_000_000, max: 150_000_000 },
  shares: { budgetUpdate: 0, operatorBudget: 0 },
  calendarShare: 0.6,
});
const half = Math.floor(stream.length / 2);

const pipeline = useRealtimePipeline({
  name: "alert-calendars",
  partitions: 3,
  ingestor: {},
  tracker: false,
});

interface FiredRow {
  advertiser_id: string;
  period_id: string;
  kind: AlertKey["kind"];
  threshold_pct: number;
  n: string;
}

describe("budget alerts in advertisers' own calendars", () => {
  it("fire exactly the oracle's alerts, once each, under each advertiser's own period", async () => {
    const { topic, database } = pipeline;
    const evaluator = () =>
      new AlertEvaluator({ pool: database.pool, targets: [], budgetPeriod: "day", timeZone: "UTC" });
    const replicas = [evaluator(), evaluator()];
    const passes = async (atMs: number) => {
      await Promise.all(replicas.map((e) => e.evaluate(atMs)));
      await Promise.all(replicas.map((e) => e.evaluate(atMs)));
    };

    const firstHalf = stream.slice(0, half);
    const firstAt = firstHalf.at(-1)?.timestampMs ?? startMs;
    await produceRecords(topic.kafka, topic.topic, firstHalf);
    await pipeline.ingestorCaughtUp(120_000);
    await passes(firstAt);

    const lastAt = stream.at(-1)?.timestampMs ?? startMs;
    await produceRecords(topic.kafka, topic.topic, stream.slice(half));
    await pipeline.ingestorCaughtUp(120_000);
    await passes(lastAt);
    // A restarted alerter re-judges the same periods: every alert it finds fired already.
    expect(await evaluator().evaluate(lastAt)).toEqual([]);

    const oracle = new Oracle().observeAll(stream);
    const expected = new Set(
      [
        ...new Oracle().observeAll(firstHalf).alertsEvaluatedAt(firstAt),
        ...oracle.alertsEvaluatedAt(lastAt),
      ].map(alertKeyOf),
    );
    const { rows } = await database.pool.query<FiredRow>(
      `SELECT advertiser_id, period_id, kind, threshold_pct, count(*)::text AS n
       FROM alerts.fired GROUP BY 1, 2, 3, 4`,
    );
    const fired = rows.map((row) =>
      alertKeyOf({
        advertiserId: row.advertiser_id,
        periodId: row.period_id,
        kind: row.kind,
        thresholdPct: row.threshold_pct,
      }),
    );

    // The stream exercises own calendars: alerts under periods the service-wide UTC day does not have (hours,
    // a month, lifetime, local days), and exhausted_early in an own calendar.
    const utcDays = new Set([budgetPeriodOf(firstAt).id, budgetPeriodOf(lastAt).id, "2026-10-31"]);
    const ownPeriods = [...expected].filter((key) => !utcDays.has(key.split("|")[1] ?? ""));
    const own = new Set(
      oracle
        .servingStateAt(lastAt)
        .filter((state) => state.calendar !== null)
        .map((s) => s.advertiserId),
    );
    const ownAlerts = [...expected].filter((key) => own.has(key.split("|")[0] ?? ""));
    console.log(
      `alerts: ${rows.length} fired (oracle ${expected.size}; ${ownAlerts.length} of the ${own.size} own-calendar advertisers, ${ownPeriods.length} under periods other than UTC days)`,
    );
    expect(own.size).toBeGreaterThanOrEqual(GENERATOR_CALENDARS.length);
    expect(ownPeriods.length).toBeGreaterThan(0);
    expect(ownAlerts.some((key) => key.includes("|exhausted_early|"))).toBe(true);
    expect(rows.every((row) => row.n === "1")).toBe(true);
    expect(new Set(fired)).toEqual(expected);
  }, 240_000);
});
