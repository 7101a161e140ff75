import { setTimeout as sleep } from "node:timers/promises";
import { type BudgetObservation, budgetInForce, budgetObservation, type GeneratedRecord } from "@adpipe/core";
import { advertiserTotals, dailySpend, type GoldRow, monthlySpend, type Oracle } from "@adpipe/core/testing";
import type { Kafka } from "kafkajs";
import type pg from "pg";

export { createTestDatabase, type TestDatabase } from "../../support/index.js";

/** Produces records in order (keyed, with their record timestamps), in chunks, waiting for each. */
export async function produceRecords(
  kafka: Kafka,
  topic: string,
  records: readonly GeneratedRecord[],
  chunk = 500,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += chunk) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + chunk).map((r) => ({
          key: r.key,
          value: Buffer.from(r.value),
          timestamp: String(r.timestampMs),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** High watermarks (end offsets) per partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  } finally {
    await admin.disconnect();
  }
}

/** Records written per partition per the offsets stored in Postgres (0 when none). */
export async function storedProgress(
  pool: pg.Pool,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const { rows } = await pool
    .query<{ partition: number; next_offset: string }>(
      `SELECT "partition", next_offset::text FROM ingest.consumer_offsets WHERE pipeline = $1 AND topic = $2`,
      [group, topic],
    )
    .catch(() => ({ rows: [] as { partition: number; next_offset: string }[] }));
  return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
}

/** Waits until the offsets stored in Postgres reach the topic's end offsets. */
export async function waitForIngested(
  pool: pg.Pool,
  group: string,
  topic: string,
  ends: Map<number, string>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = await storedProgress(pool, group, topic);
    const behind = [...ends].filter(([partition, end]) => (stored.get(partition) ?? 0n) < BigInt(end));
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not ingested in time: ${behind.map(([p, e]) => `p${p} ${stored.get(p) ?? 0n}/${e}`).join(", ")}`,
      );
    }
    await sleep(250);
  }
}

/** Gold rows as the oracle's GoldRow shape (micros as numbers), sorted by advertiser then window. */
export async function readGold(pool: pg.Pool): Promise<Record<string, unknown>[]> {
  const { rows } = await pool.query<Record<string, string | boolean | null>>(`
    SELECT advertiser_id, advertiser,
           (extract(epoch FROM window_start) * 1000)::bigint::text AS window_start_ms,
           (extract(epoch FROM window_end) * 1000)::bigint::text AS window_end_ms,
           (extract(epoch FROM spend_hour) * 1000)::bigint::text AS spend_hour_ms,
           (extract(epoch FROM spend_day) * 1000)::bigint::text AS spend_day_ms,
           (extract(epoch FROM spend_month) * 1000)::bigint::text AS spend_month_ms,
           (gross_spend * 1000000)::bigint::text AS gross, (net_spend * 1000000)::bigint::text AS net,
           (over_cap_spend * 1000000)::bigint::text AS over_cap,
           record_count::text, valid_clicks::text, invalid_clicks::text, duplicate_clicks::text,
           (budget_value * 1000000)::bigint::text AS budget, budget_source,
           (period_net_spend * 1000000)::bigint::text AS period_net, can_serve, serving_reason
    FROM gold.advertiser_spend ORDER BY advertiser_id, window_start`);
  return rows.map((r) => ({
    advertiserId: r.advertiser_id,
    advertiser: r.advertiser,
    windowStartMs: Number(r.window_start_ms),
    windowEndMs: Number(r.window_end_ms),
    spendHourMs: Number(r.spend_hour_ms),
    spendDayMs: Number(r.spend_day_ms),
    spendMonthMs: Number(r.spend_month_ms),
    grossMicros: Number(r.gross),
    netMicros: Number(r.net),
    overCapMicros: Number(r.over_cap),
    recordCount: Number(r.record_count),
    validClicks: Number(r.valid_clicks),
    invalidClicks: Number(r.invalid_clicks),
    duplicateClicks: Number(r.duplicate_clicks),
    budgetMicros: r.budget === null ? null : Number(r.budget),
    budgetSource: r.budget_source,
    periodNetMicros: Number(r.period_net),
    canServe: r.can_serve,
    reason: r.serving_reason,
  }));
}

/** The oracle's Gold rows in readGold's shape (sorting by advertiserId with JS string order = C collation). */
export function expectedGold(oracle: Oracle): Record<string, unknown>[] {
  return oracle.goldRows().map((row) => ({
    advertiserId: row.advertiserId,
    advertiser: row.advertiser,
    windowStartMs: row.windowStartMs,
    windowEndMs: row.windowEndMs,
    spendHourMs: row.spendHourMs,
    spendDayMs: row.spendDayMs,
    spendMonthMs: row.spendMonthMs,
    grossMicros: row.grossMicros,
    netMicros: row.netMicros,
    overCapMicros: row.overCapMicros,
    recordCount: row.recordCount,
    validClicks: row.validClicks,
    invalidClicks: row.invalidClicks,
    duplicateClicks: row.duplicateClicks,
    budgetMicros: row.budgetMicros,
    budgetSource: row.budgetSource,
    periodNetMicros: row.periodNetMicros,
    canServe: row.canServe,
    reason: row.reason,
  }));
}

/** Bronze row counts by rejection reason ('parsed' for events). */
export async function bronzeByReason(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ reason: string; n: string }>(
    "SELECT coalesce(rejection_reason, 'parsed') AS reason, count(*)::text AS n FROM bronze.ad_click_events_raw GROUP BY 1",
  );
  return Object.fromEntries(rows.map((row) => [row.reason, Number(row.n)]));
}

export function expectedBronzeByReason(oracle: Oracle): Record<string, number> {
  const bronze = oracle.bronze();
  const out: Record<string, number> = { parsed: bronze.parsed };
  for (const [reason, n] of Object.entries(bronze.rejectedByReason)) if (n > 0) out[reason] = n;
  return out;
}

/** Integer micros of a NUMERIC text without float error. */
export function numericMicros(value: string | null): number | null {
  if (value === null) return null;
  const [whole = "0", fraction = ""] = value.split(".");
  const negative = whole.startsWith("-");
  const digits = BigInt(whole.replace("-", "")) * 1_000_000n + BigInt(`${fraction}000000`.slice(0, 6));
  return Number(negative ? -digits : digits);
}

interface ViewRow {
  [column: string]: unknown;
}

async function view(pool: pg.Pool, sql: string): Promise<ViewRow[]> {
  return (await pool.query<ViewRow>(sql)).rows;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const name = (row: { advertiser: string | null; advertiserId: string }): string =>
  row.advertiser ?? row.advertiserId;

/** Every view's rows (normalised to strings/micros) and the values the oracle implies, for toEqual. */
export async function viewsVersusOracle(
  pool: pg.Pool,
  oracle: Oracle,
  outcomesTimeline: {
    latestActivity: Map<string, number>;
    budgets: Map<string, BudgetObservation[]>;
  },
): Promise<{ actual: Record<string, unknown[]>; expected: Record<string, unknown[]> }> {
  const gold = oracle.goldRows();
  const actual: Record<string, unknown[]> = {};
  const expected: Record<string, unknown[]> = {};
  const sortBy = <T>(rows: T[], key: (row: T) => string): T[] =>
    rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const ts = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

  actual.hourly_spend = sortBy(
    (await view(pool, "SELECT * FROM gold.hourly_spend")).map((r) => [
      r.advertiser,
      ts(r.spend_hour_start),
      ts(r.spend_hour_end),
      numericMicros(r.hourly_gross_spend as string),
      numericMicros(r.hourly_net_spend as string),
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );
  expected.hourly_spend = sortBy(
    gold.map((g) => [name(g), iso(g.windowStartMs), iso(g.windowEndMs), g.grossMicros, g.netMicros]),
    (r) => `${r[0]}|${r[1]}`,
  );

  actual.daily_spend = sortBy(
    (await view(pool, "SELECT * FROM gold.daily_spend")).map((r) => [
      r.advertiser,
      ts(r.spend_day),
      numericMicros(r.daily_gross_spend as string),
      numericMicros(r.daily_net_spend as string),
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );
  expected.daily_spend = sortBy(
    dailySpend(gold).map((d) => [d.advertiser ?? d.advertiserId, iso(d.startMs), d.grossMicros, d.netMicros]),
    (r) => `${r[0]}|${r[1]}`,
  );

  actual.monthly_spend = sortBy(
    (await view(pool, "SELECT * FROM gold.monthly_spend")).map((r) => [
      r.advertiser,
      ts(r.spend_month),
      numericMicros(r.monthly_gross_spend as string),
      numericMicros(r.monthly_net_spend as string),
      Number(r.total_clicks),
      numericMicros(r.budget_value as string | null),
      r.can_serve_status,
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );
  expected.monthly_spend = sortBy(
    monthlySpend(gold).map((m) => [
      m.advertiser ?? m.advertiserId,
      iso(m.startMs),
      m.grossMicros,
      m.netMicros,
      m.clicks,
      m.budgetMicros,
      m.canServe,
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );

  actual.aggregated_advertiser_spend = sortBy(
    (await view(pool, "SELECT * FROM gold.aggregated_advertiser_spend")).map((r) => [
      r.advertiser,
      numericMicros(r.total_gross_spend as string),
      numericMicros(r.total_net_spend as string),
      Number(r.total_clicks),
      numericMicros(r.latest_budget_value as string | null),
      ts(r.latest_activity_time),
      r.current_serving_status,
    ]),
    (r) => String(r[0]),
  );
  expected.aggregated_advertiser_spend = sortBy(
    advertiserTotals(gold).map((a) => [
      a.advertiser ?? a.advertiserId,
      a.grossMicros,
      a.netMicros,
      a.clicks,
      a.budgetMicros,
      iso(outcomesTimeline.latestActivity.get(a.advertiserId) ?? Number.NaN),
      a.canServe,
    ]),
    (r) => String(r[0]),
  );

  const latestRow = new Map<string, GoldRow>();
  for (const g of gold) latestRow.set(g.advertiserId, g);
  const advertiserName = new Map(
    advertiserTotals(gold).map((a) => [a.advertiserId, a.advertiser ?? a.advertiserId]),
  );

  actual.latest_serving_status = sortBy(
    (await view(pool, "SELECT * FROM gold.latest_serving_status")).map((r) => [
      r.advertiser,
      ts(r.latest_hour),
      r.latest_can_serve,
    ]),
    (r) => String(r[0]),
  );
  expected.latest_serving_status = sortBy(
    [...latestRow.values()].map((g) => [
      advertiserName.get(g.advertiserId),
      iso(g.windowStartMs),
      g.canServe,
    ]),
    (r) => String(r[0]),
  );

  actual.latest_changed_budgets = sortBy(
    (await view(pool, "SELECT * FROM gold.latest_changed_budgets")).map((r) => [
      r.advertiser,
      ts(r.spend_hour),
      numericMicros(r.budget_value as string),
    ]),
    (r) => String(r[0]),
  );
  const changed = new Map<string, GoldRow>();
  let previous: GoldRow | undefined;
  for (const g of gold) {
    const prior = previous?.advertiserId === g.advertiserId ? previous.budgetMicros : null;
    const first = previous?.advertiserId !== g.advertiserId;
    if (g.budgetMicros !== null && (first || prior !== g.budgetMicros)) changed.set(g.advertiserId, g);
    previous = g;
  }
  expected.latest_changed_budgets = sortBy(
    [...changed.values()].map((g) => [
      advertiserName.get(g.advertiserId),
      iso(g.windowStartMs),
      g.budgetMicros,
    ]),
    (r) => String(r[0]),
  );

  actual.hourly_average_budget = sortBy(
    (await view(pool, "SELECT * FROM gold.hourly_average_budget")).map((r) => [
      r.advertiser,
      ts(r.spend_hour),
      numericMicros(r.avg_budget as string | null),
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );
  expected.hourly_average_budget = sortBy(
    gold.map((g) => [
      name(g),
      iso(g.windowStartMs),
      averageBudget(outcomesTimeline.budgets.get(g.advertiserId) ?? [], g),
    ]),
    (r) => `${r[0]}|${r[1]}`,
  );

  actual.combined_spend_budget = sortBy(
    (await view(pool, "SELECT * FROM gold.combined_spend_budget")).map((r) => [
      r.advertiser,
      ts(r.spend_day),
      r.category,
      numericMicros(r.amount as string),
    ]),
    (r) => `${r[0]}|${r[1]}|${r[2]}`,
  );
  const lastOfDay = new Map<string, GoldRow>();
  const dayNet = new Map<string, number>();
  for (const g of gold) {
    const key = `${g.advertiserId}|${g.spendDayMs}`;
    lastOfDay.set(key, g);
    dayNet.set(key, (dayNet.get(key) ?? 0) + g.netMicros);
  }
  const dayName = new Map(
    dailySpend(gold).map((d) => [`${d.advertiserId}|${d.startMs}`, d.advertiser ?? d.advertiserId]),
  );
  expected.combined_spend_budget = sortBy(
    [...lastOfDay].flatMap(([key, g]) => [
      [dayName.get(key), iso(g.spendDayMs), "Spend", dayNet.get(key)],
      [
        dayName.get(key),
        iso(g.spendDayMs),
        "Remaining Budget",
        Math.max(0, (g.budgetMicros ?? 0) - g.periodNetMicros),
      ],
    ]),
    (r) => `${r[0]}|${r[1]}|${r[2]}`,
  );
  return { actual, expected };
}

/**
 * Time-weighted average budget in force over [windowStart, windowEnd), half away from zero at the micro. The
 * budget in force at instant t (inclusive) is core's budgetInForce over the observations (in partition order)
 * with event time <= t, i.e. before t + 1 ms (event times are whole milliseconds); it can change only at an
 * observation's time.
 */
function averageBudget(observations: readonly BudgetObservation[], g: GoldRow): number | null {
  const at = (t: number) => budgetInForce(observations, t + 1)?.budgetMicros ?? null;
  const times = [
    ...new Set(
      observations
        .map((o) => o.eventTimeMs)
        .filter((t) => t > g.windowStartMs && t < g.windowEndMs)
        .sort((a, b) => a - b),
    ),
  ];
  const points: { t: number; v: number | null }[] = [
    { t: g.windowStartMs, v: at(g.windowStartMs) },
    ...times.map((t) => ({ t, v: at(t) })),
  ];
  let weighted = 0n;
  let duration = 0n;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const end = points[i + 1]?.t ?? g.windowEndMs;
    if (p.v === null) continue;
    weighted += BigInt(p.v) * BigInt(end - p.t);
    duration += BigInt(end - p.t);
  }
  if (duration === 0n) return null;
  const quotient = weighted / duration;
  const remainder = weighted % duration;
  return Number(remainder * 2n >= duration ? quotient + 1n : quotient);
}

/** From an oracle with keepOutcomes: newest click event time per advertiser and budget observations in order. */
export function outcomeTimelines(oracle: Oracle): {
  latestActivity: Map<string, number>;
  budgets: Map<string, BudgetObservation[]>;
} {
  const latestActivity = new Map<string, number>();
  const budgets = new Map<string, BudgetObservation[]>();
  for (const outcome of oracle.outcomes()) {
    const event = outcome.result;
    if (!event.ok) continue;
    if (event.eventType === "ad_click" && event.advertiserId !== null && event.eventTimeMs !== null) {
      latestActivity.set(
        event.advertiserId,
        Math.max(latestActivity.get(event.advertiserId) ?? 0, event.eventTimeMs),
      );
    }
    if (!outcome.duplicate) {
      const observation = budgetObservation(event);
      if (observation !== null) {
        const list = budgets.get(observation.advertiserId) ?? [];
        list.push(observation);
        budgets.set(observation.advertiserId, list);
      }
    }
  }
  return { latestActivity, budgets };
}
