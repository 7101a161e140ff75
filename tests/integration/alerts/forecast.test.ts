import { AlertEvaluator } from "@adpipe/alerts";
import { alertKeyOf } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { forecastFields } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "../realtime/support/harness.js";
import { useRealtimePipeline } from "../realtime/support/pipeline.js";
import { generated } from "../realtime/support/stream.js";

// Forecasts end to end: a generated stream (06:00 to 09:00 UTC of one day) through the real broker into the
// budget-tracker (Redis, injected clock, forecast refresh every 100 ms) and the ingestor (Postgres). The hash's
// forecast fields equal forecastPeriod of the oracle's state at the clock, keep moving when clicks stop, and
// restart with the period; exhausted_early alerts, judged from Postgres by two evaluator replicas passing at once
// before and after the second half, are exactly the oracle's, each once. Budgets stay constant (no updates).

const dayStartMs = Date.UTC(2026, 2, 10);
const hourMs = 3_600_000;
const stream = generated({
  seed: 418,
  events: 3_000,
  advertisers: 16,
  startMs: dayStartMs + 6 * hourMs,
  spanMs: 3 * hourMs,
  budgetMicros: { min: 20_000_000, max: 400_000_000 },
  shares: { budgetUpdate: 0, operatorBudget: 0 },
});
const half = Math.floor(stream.length / 2);
let now = stream.at(-1)?.timestampMs ?? 0;

const pipeline = useRealtimePipeline({
  name: "forecast",
  partitions: 3,
  ingestor: {},
  tracker: {
    env: {
      FORECAST_REFRESH_INTERVAL_MS: "100",
      ROLLOVER_CHECK_INTERVAL_MS: "100",
      RECONCILE_INTERVAL_MS: "0",
    },
    options: { clock: () => now },
  },
});

/** The oracle's forecast fields at the clock, per advertiser with a hash. */
function expectedFields(oracle: Oracle, atMs: number): Map<string, { exhaustedAt: string; spend: string }> {
  const period = pipeline.reader.periodOf(atMs);
  return new Map(
    oracle.servingStateAt(atMs).map((state) => {
      const fields = forecastFields(state.netMicros, state.budgetMicros, period, atMs);
      return [state.advertiserId, { exhaustedAt: fields.exhaustedAt, spend: fields.periodSpendMicros }];
    }),
  );
}

async function storedFields(): Promise<Map<string, { exhaustedAt: string; spend: string }>> {
  const { redis, prefix } = pipeline;
  const states = await pipeline.reader.readStates();
  const out = new Map<string, { exhaustedAt: string; spend: string }>();
  for (const id of states.keys()) {
    const [exhaustedAt, spend] = await redis.hmget(
      `${prefix}adv:{${id}}`,
      "forecast_exhausted_at",
      "forecast_period_spend_micros",
    );
    out.set(id, { exhaustedAt: exhaustedAt ?? "(absent)", spend: spend ?? "(absent)" });
  }
  return out;
}

async function forecastsEqual(oracle: Oracle, atMs: number): Promise<void> {
  const expected = expectedFields(oracle, atMs);
  await eventually("the forecast refresh wrote the oracle's forecasts", async () => {
    const stored = await storedFields();
    return [...expected].every(([id, fields]) => {
      const got = stored.get(id);
      return got === undefined || (got.exhaustedAt === fields.exhaustedAt && got.spend === fields.spend);
    });
  });
  const stored = await storedFields();
  expect(stored.size).toBeGreaterThan(10);
  for (const [id, got] of stored) expect({ id, ...got }).toEqual({ id, ...expected.get(id) });
}

describe("spend forecasts and exhausted_early", () => {
  it("hash forecasts equal the oracle's and exhausted_early fires exactly the oracle's alerts, once", async () => {
    const { topic, reader, database } = pipeline;
    const evaluators = [0, 1].map(
      () => new AlertEvaluator({ pool: database.pool, targets: [], budgetPeriod: "day", timeZone: "UTC" }),
    );
    const passes = async (atMs: number) => {
      // Two replicas at once, twice: the unique key leaves one row per alert.
      await Promise.all(evaluators.map((e) => e.evaluate(atMs)));
      await Promise.all(evaluators.map((e) => e.evaluate(atMs)));
    };

    // First half, evaluated at its last instant.
    const firstHalf = stream.slice(0, half);
    now = firstHalf.at(-1)?.timestampMs ?? now;
    await produceRecords(topic.kafka, topic.topic, firstHalf);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    await pipeline.ingestorCaughtUp(120_000);
    await forecastsEqual(new Oracle().observeAll(firstHalf), now);
    await passes(now);

    // The rest.
    now = stream.at(-1)?.timestampMs ?? now;
    await produceRecords(topic.kafka, topic.topic, stream.slice(half));
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    await pipeline.ingestorCaughtUp(120_000);
    const oracle = new Oracle().observeAll(stream);
    await forecastsEqual(oracle, now);
    await passes(now);

    const expected = oracle.alertsAt(now).filter((key) => key.kind === "exhausted_early");
    const { rows } = await database.pool.query<{ advertiser_id: string; period_id: string; n: string }>(
      "SELECT advertiser_id, period_id, count(*)::text AS n FROM alerts.fired WHERE kind = 'exhausted_early' GROUP BY 1, 2",
    );
    console.log(
      `exhausted_early: ${rows.length} fired (oracle ${expected.length} of ${oracle.servingStateAt(now).length} advertisers)`,
    );
    // Some advertisers run out early, some do not: both branches of the rule are exercised.
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(oracle.servingStateAt(now).length);
    expect(rows.every((row) => row.n === "1")).toBe(true);
    expect(
      new Set(
        rows.map((row) =>
          alertKeyOf({
            advertiserId: row.advertiser_id,
            periodId: row.period_id,
            kind: "exhausted_early",
            thresholdPct: 0,
          }),
        ),
      ),
    ).toEqual(new Set(expected.map(alertKeyOf)));

    // Clicks stop: two hours later the forecasts have moved (later exhaustion, lower period spend).
    const before = await storedFields();
    now += 2 * hourMs;
    await forecastsEqual(oracle, now);
    const after = await storedFields();
    const moved = [...after].filter(([id, got]) => got.spend !== before.get(id)?.spend);
    expect(moved.length).toBeGreaterThan(0);
    for (const [id, got] of moved)
      expect(BigInt(got.spend)).toBeLessThan(BigInt(before.get(id)?.spend ?? "0"));

    // A new period: spend restarts, and so does the forecast.
    now = dayStartMs + 24 * hourMs + 60_000;
    await eventually("every hash forecasts the new day", async () =>
      [...(await storedFields()).values()].every((got) => got.spend === "0" && got.exhaustedAt === ""),
    );
  }, 240_000);
});
