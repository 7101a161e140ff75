import { setTimeout as sleep } from "node:timers/promises";
import { Oracle, type OracleOptions } from "@adpipe/core/testing";
import { diffAgainstOracle } from "../../integration/realtime/support/oracle-compare.js";
import {
  bronzeByReason,
  expectedBronzeByReason,
  expectedGold,
  readGold,
} from "../../integration/warehouse/support.js";
import { readTopic, type TopicRecord } from "./kafka-tools.js";
import type { Pipeline } from "./pipeline.js";
import { type StoreCheck, totalMoney } from "./results.js";

interface Money {
  gross: number;
  net: number;
}

const MAX_EXAMPLES = 8;

/** Σ max(0, expected − actual) and Σ max(0, actual − expected) over every key, for gross and for net. */
export function moneyDiff(
  expected: ReadonlyMap<string, Money>,
  actual: ReadonlyMap<string, Money>,
): { lostMicros: number; doubleMicros: number } {
  let lostMicros = 0;
  let doubleMicros = 0;
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key) ?? { gross: 0, net: 0 };
    const got = actual.get(key) ?? { gross: 0, net: 0 };
    for (const measure of ["gross", "net"] as const) {
      const delta = got[measure] - want[measure];
      if (delta < 0) lostMicros -= delta;
      else doubleMicros += delta;
    }
  }
  return { lostMicros, doubleMicros };
}

export function oracleOf(records: readonly TopicRecord[], options: OracleOptions = {}): Oracle {
  const oracle = new Oracle(options);
  for (const record of records) {
    oracle.observe({
      value: record.value,
      timestampMs: record.timestampMs,
      key: record.key === null ? null : record.key.toString("utf8"),
      partition: record.partition,
      offset: record.offset,
    });
  }
  return oracle;
}

/**
 * Bronze against the records of every log the topic had, one per generation (a recreated topic starts again at
 * offset 0): per generation and partition, one row per offset from 0 up, nothing else.
 */
async function checkBronze(
  pipeline: Pipeline,
  logs: readonly (readonly TopicRecord[])[],
  oracle: Oracle,
): Promise<StoreCheck> {
  const examples: string[] = [];
  const { rows } = await pipeline.db.pool.query<{
    generation: number;
    partition: number;
    n: string;
    d: string;
    lo: string;
    hi: string;
  }>(
    `SELECT topic_generation AS generation, "partition", count(*)::text AS n, count(DISTINCT "offset")::text AS d,
            min("offset")::text AS lo, max("offset")::text AS hi
       FROM bronze.ad_click_events_raw WHERE topic = $1 GROUP BY 1, 2`,
    [pipeline.topic],
  );
  const seen = new Map(rows.map((row) => [`${row.generation}/${row.partition}`, row]));
  const expected = new Set<string>();
  for (const [generation, records] of logs.entries()) {
    const perPartition = new Map<number, number>();
    for (const record of records)
      perPartition.set(record.partition, (perPartition.get(record.partition) ?? 0) + 1);
    for (const [partition, count] of perPartition) {
      const key = `${generation}/${partition}`;
      expected.add(key);
      const row = seen.get(key);
      const want = { n: String(count), d: String(count), lo: "0", hi: String(count - 1) };
      const got = row === undefined ? null : { n: row.n, d: row.d, lo: row.lo, hi: row.hi };
      if (JSON.stringify(got) !== JSON.stringify(want))
        examples.push(
          `bronze g${generation} p${partition}: ${JSON.stringify(got)} expected ${JSON.stringify(want)}`,
        );
    }
  }
  for (const key of seen.keys())
    if (!expected.has(key))
      examples.push(`bronze g${key.replace("/", " p")}: rows for a log partition with no records`);
  const byReason = await bronzeByReason(pipeline.db.pool);
  const wanted = expectedBronzeByReason(oracle);
  if (JSON.stringify(sorted(byReason)) !== JSON.stringify(sorted(wanted)))
    examples.push(
      `bronze by reason ${JSON.stringify(sorted(byReason))} expected ${JSON.stringify(sorted(wanted))}`,
    );
  return {
    store: "bronze",
    compared: logs.reduce((sum, records) => sum + records.length, 0),
    mismatches: examples.length,
    examples: examples.slice(0, MAX_EXAMPLES),
    lostMicros: 0,
    doubleMicros: 0,
  };
}

function sorted(record: Record<string, number>): [string, number][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

interface SilverWindow {
  advertiser_id: string;
  w: string;
  g: string;
  n: string;
  r: string;
  v: string;
  i: string;
  d: string;
}

async function checkSilver(pipeline: Pipeline, oracle: Oracle): Promise<StoreCheck> {
  const examples: string[] = [];
  const pool = pipeline.db.pool;
  const { rows } = await pool.query<SilverWindow>(`
    SELECT advertiser_id, (extract(epoch FROM gold_window_start) * 1000)::bigint::text AS w,
           sum(contrib_gross_micros)::text AS g, sum(contrib_net_micros)::text AS n,
           sum(contrib_records)::text AS r, sum(contrib_valid_clicks)::text AS v,
           sum(contrib_invalid_clicks)::text AS i, sum(contrib_duplicate_clicks)::text AS d
      FROM (SELECT advertiser_id, gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records,
                   contrib_valid_clicks, contrib_invalid_clicks, contrib_duplicate_clicks
              FROM silver.ad_click_events_clean
            UNION ALL
            SELECT advertiser_id, gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records,
                   contrib_valid_clicks, contrib_invalid_clicks, contrib_duplicate_clicks
              FROM silver.duplicate_clicks) s
     WHERE gold_window_start IS NOT NULL
     GROUP BY 1, 2`);
  const actual = new Map<string, Money>();
  const actualCounts = new Map<string, string>();
  for (const row of rows) {
    const key = `${row.advertiser_id}|${row.w}`;
    actual.set(key, { gross: Number(row.g), net: Number(row.n) });
    actualCounts.set(key, `${row.r}/${row.v}/${row.i}/${row.d}`);
  }
  const expected = new Map<string, Money>();
  for (const g of oracle.goldRows()) {
    const key = `${g.advertiserId}|${g.windowStartMs}`;
    expected.set(key, { gross: g.grossMicros, net: g.netMicros });
    const counts = `${g.recordCount}/${g.validClicks}/${g.invalidClicks}/${g.duplicateClicks}`;
    const got = actual.get(key);
    if (got === undefined)
      examples.push(`silver ${key}: no rows, expected ${g.grossMicros}/${g.netMicros} µ`);
    else if (got.gross !== g.grossMicros || got.net !== g.netMicros || actualCounts.get(key) !== counts)
      examples.push(
        `silver ${key}: gross/net ${got.gross}/${got.net} clicks ${actualCounts.get(key)}, expected ${g.grossMicros}/${g.netMicros} ${counts}`,
      );
  }
  for (const key of actual.keys())
    if (!expected.has(key)) examples.push(`silver ${key}: rows the oracle has no window for`);

  const { rows: totals } = await pool.query<{ clean: string; dup: string; valid: string; invalid: string }>(`
    SELECT (SELECT count(*) FROM silver.ad_click_events_clean)::text AS clean,
           (SELECT count(*) FROM silver.duplicate_clicks)::text AS dup,
           (SELECT count(*) FROM silver.ad_click_events_clean WHERE is_valid)::text AS valid,
           (SELECT count(*) FROM silver.ad_click_events_clean WHERE NOT is_valid)::text AS invalid`);
  const silver = oracle.silver();
  const wantTotals = {
    clean: String(silver.events - silver.duplicates),
    dup: String(silver.duplicates),
    valid: String(silver.valid),
    invalid: String(silver.invalid),
  };
  if (JSON.stringify(totals[0]) !== JSON.stringify(wantTotals))
    examples.push(`silver rows ${JSON.stringify(totals[0])} expected ${JSON.stringify(wantTotals)}`);
  return {
    store: "silver",
    compared: silver.events,
    mismatches: examples.length,
    examples: examples.slice(0, MAX_EXAMPLES),
    ...moneyDiff(expected, actual),
  };
}

async function checkGold(pipeline: Pipeline, oracle: Oracle): Promise<StoreCheck> {
  const key = (row: Record<string, unknown>) => `${String(row.advertiserId)}|${String(row.windowStartMs)}`;
  const actualRows = await readGold(pipeline.db.pool);
  const expectedRows = expectedGold(oracle);
  const actual = new Map(actualRows.map((row) => [key(row), row]));
  const expected = new Map(expectedRows.map((row) => [key(row), row]));
  const examples: string[] = [];
  for (const [k, want] of expected) {
    const got = actual.get(k);
    if (JSON.stringify(got) !== JSON.stringify(want))
      examples.push(`gold ${k}: ${JSON.stringify(got ?? null)} expected ${JSON.stringify(want)}`);
  }
  for (const k of actual.keys())
    if (!expected.has(k)) examples.push(`gold ${k}: a row the oracle does not have`);
  const money = (rows: Map<string, Record<string, unknown>>) =>
    new Map([...rows].map(([k, row]) => [k, { gross: Number(row.grossMicros), net: Number(row.netMicros) }]));
  return {
    store: "gold",
    compared: expectedRows.length,
    mismatches: examples.length,
    examples: examples.slice(0, MAX_EXAMPLES),
    ...moneyDiff(money(expected), money(actual)),
  };
}

/**
 * Redis against the oracle's state of the current budget period. Retried for a while: when a period ends
 * between the last apply and the read, the tracker's rollover sweep (every second) catches up.
 */
async function checkRedis(pipeline: Pipeline, oracle: Oracle, retryMs: number): Promise<StoreCheck> {
  const deadline = Date.now() + retryMs;
  for (;;) {
    const now = Date.now();
    const states = await pipeline.store.readStates();
    const expected = oracle.servingStateAt(now);
    const problems = diffAgainstOracle(states, expected);
    const money = moneyDiff(
      new Map(expected.map((s) => [s.advertiserId, { gross: s.grossMicros, net: s.netMicros }])),
      new Map([...states].map(([id, s]) => [id, { gross: s.grossMicros, net: s.netMicros }])),
    );
    if (problems.length === 0 || Date.now() > deadline) {
      return {
        store: "redis",
        compared: expected.length,
        mismatches: problems.length,
        examples: problems.slice(0, MAX_EXAMPLES),
        ...money,
      };
    }
    await sleep(500);
  }
}

export interface Verification {
  readonly oracle: Oracle;
  readonly records: readonly TopicRecord[];
  readonly checks: readonly StoreCheck[];
  readonly lostMicros: number;
  readonly doubleMicros: number;
  readonly mismatches: number;
}

/**
 * Reads the topic back, computes the oracle over it (after the records of earlier logs of a recreated topic) and
 * compares Bronze, Silver, Gold and every Redis advertiser hash with it, to the micro-unit. Call once both paths
 * have consumed the whole topic.
 */
export async function verifyPipeline(
  pipeline: Pipeline,
  options: {
    redisRetryMs?: number;
    keepOutcomes?: boolean;
    /** Records of the logs the topic had before it was recreated (generation 0, 1, ...), in order. */
    earlierLogs?: readonly (readonly TopicRecord[])[];
  } = {},
): Promise<Verification> {
  const current = await readTopic(pipeline.kafka, pipeline.topic);
  const logs = [...(options.earlierLogs ?? []), current];
  const records = logs.flat();
  const oracle = oracleOf(records, { keepOutcomes: options.keepOutcomes ?? false });
  const checks = [
    await checkBronze(pipeline, logs, oracle),
    await checkSilver(pipeline, oracle),
    await checkGold(pipeline, oracle),
    await checkRedis(pipeline, oracle, options.redisRetryMs ?? 15_000),
  ];
  return {
    oracle,
    records,
    checks,
    ...totalMoney(checks),
    mismatches: checks.reduce((sum, c) => sum + c.mismatches, 0),
  };
}

/** A readable account of every difference (for the assertion message). */
export function describeMismatches(verification: Verification): string {
  return verification.checks
    .filter((c) => c.mismatches > 0 || c.lostMicros > 0 || c.doubleMicros > 0)
    .map(
      (c) =>
        `${c.store}: ${c.mismatches} mismatches, lost ${c.lostMicros} µ, double ${c.doubleMicros} µ\n  ${c.examples.join("\n  ")}`,
    )
    .join("\n");
}
