import { Prng } from "@adpipe/core";
import type { ServingState } from "@adpipe/core/testing";
import { advertiserKey } from "@adpipe/serving-client";
import { expectedGold, readGold } from "../../integration/warehouse/support.js";
import {
  fuzzedRecords,
  type HostileRecord,
  hostileButValid,
  hostileCorpus,
  isHarmless,
} from "../support/hostile.js";
import { type OutgoingRecord, producePaced, type TopicRecord } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import type { ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { liveStream } from "../support/streams.js";
import { moneyDiff, oracleOf, type Verification, verifyPipeline } from "../support/verify.js";

const KIND = "integrity-kind";

interface RowCheck {
  /** Hostile records checked row by row against the oracle's outcome. */
  checked: number;
  rejected: number;
  invalidEvents: number;
  duplicates: number;
  problems: string[];
}

/** Every hostile record has its Bronze row with the oracle's reason, and its Silver row with the oracle's findings. */
async function checkHostileRows(pipeline: Pipeline, verification: Verification): Promise<RowCheck> {
  const hostile = new Set(
    verification.records
      .filter((r) => r.headers[KIND] === "hostile")
      .map((r) => `${r.partition}:${r.offset}`),
  );
  const pool = pipeline.db.pool;
  const partitions: number[] = [];
  const offsets: string[] = [];
  for (const key of hostile) {
    const [p, o] = key.split(":");
    partitions.push(Number(p));
    offsets.push(String(o));
  }
  const keyOf = (row: { partition: number; offset: string }) => `${row.partition}:${row.offset}`;
  const { rows: bronze } = await pool.query<{
    partition: number;
    offset: string;
    parse_status: string;
    rejection_reason: string | null;
  }>(
    `SELECT b."partition", b."offset"::text AS "offset", b.parse_status, b.rejection_reason
       FROM bronze.ad_click_events_raw b
       JOIN unnest($2::int[], $3::bigint[]) AS h(p, o) ON b."partition" = h.p AND b."offset" = h.o
      WHERE b.topic = $1`,
    [pipeline.topic, partitions, offsets],
  );
  const { rows: clean } = await pool.query<{
    partition: number;
    offset: string;
    is_valid: boolean;
    error_codes: string[];
  }>(
    `SELECT s."partition", s."offset"::text AS "offset", s.is_valid, s.error_codes
       FROM silver.ad_click_events_clean s
       JOIN unnest($2::int[], $3::bigint[]) AS h(p, o) ON s."partition" = h.p AND s."offset" = h.o
      WHERE s.topic = $1`,
    [pipeline.topic, partitions, offsets],
  );
  const { rows: duplicates } = await pool.query<{ partition: number; offset: string }>(
    `SELECT s."partition", s."offset"::text AS "offset"
       FROM silver.duplicate_clicks s
       JOIN unnest($2::int[], $3::bigint[]) AS h(p, o) ON s."partition" = h.p AND s."offset" = h.o
      WHERE s.topic = $1`,
    [pipeline.topic, partitions, offsets],
  );
  const bronzeBy = new Map(bronze.map((row) => [keyOf(row), row]));
  const cleanBy = new Map(clean.map((row) => [keyOf(row), row]));
  const duplicateKeys = new Set(duplicates.map(keyOf));
  const check: RowCheck = { checked: 0, rejected: 0, invalidEvents: 0, duplicates: 0, problems: [] };
  const problem = (text: string) => {
    if (check.problems.length < 20) check.problems.push(text);
  };
  for (const outcome of verification.oracle.outcomes()) {
    const key = `${outcome.partition}:${outcome.offset}`;
    if (!hostile.has(key)) continue;
    check.checked += 1;
    const row = bronzeBy.get(key);
    const result = outcome.result;
    if (row === undefined) {
      problem(`${key}: no Bronze row`);
      continue;
    }
    if (!result.ok) {
      check.rejected += 1;
      if (row.parse_status !== "rejected" || row.rejection_reason !== result.reason)
        problem(
          `${key}: Bronze ${row.parse_status}/${row.rejection_reason}, expected rejected/${result.reason}`,
        );
      continue;
    }
    if (row.parse_status !== "parsed") problem(`${key}: Bronze ${row.parse_status}, expected parsed`);
    if (outcome.duplicate) {
      check.duplicates += 1;
      if (!duplicateKeys.has(key)) problem(`${key}: no silver.duplicate_clicks row`);
      continue;
    }
    check.invalidEvents += 1;
    const silver = cleanBy.get(key);
    const expected = [...result.errors].sort();
    if (silver === undefined) problem(`${key}: no Silver row`);
    else if (
      silver.is_valid ||
      expected.length === 0 ||
      JSON.stringify([...silver.error_codes].sort()) !== JSON.stringify(expected)
    )
      problem(
        `${key}: Silver valid=${silver.is_valid} ${JSON.stringify(silver.error_codes)}, expected invalid ${JSON.stringify(expected)}`,
      );
  }
  return check;
}

/** Spend (gross and net, every Gold window and the Redis period) of the real advertisers, against the good stream alone. */
async function goodSpendUnchanged(
  pipeline: Pipeline,
  good: readonly TopicRecord[],
): Promise<{ lostMicros: number; doubleMicros: number; advertisers: number }> {
  const oracle = oracleOf(good);
  const ids = new Set(oracle.advertisers());
  const totals = (rows: readonly Record<string, unknown>[]) => {
    const map = new Map<string, { gross: number; net: number }>();
    for (const row of rows) {
      const id = String(row.advertiserId);
      if (!ids.has(id)) continue;
      const sum = map.get(id) ?? { gross: 0, net: 0 };
      sum.gross += Number(row.grossMicros);
      sum.net += Number(row.netMicros);
      map.set(id, sum);
    }
    return map;
  };
  const gold = moneyDiff(totals(expectedGold(oracle)), totals(await readGold(pipeline.db.pool)));
  const states = await pipeline.store.readStates();
  const expected = oracle.servingStateAt(Date.now());
  const money = (list: readonly Pick<ServingState, "advertiserId" | "grossMicros" | "netMicros">[]) =>
    new Map(
      list
        .filter((s) => ids.has(s.advertiserId))
        .map((s) => [`redis|${s.advertiserId}`, { gross: s.grossMicros, net: s.netMicros }]),
    );
  const redis = moneyDiff(money(expected), money([...states.values()]));
  return {
    lostMicros: gold.lostMicros + redis.lostMicros,
    doubleMicros: gold.doubleMicros + redis.doubleMicros,
    advertisers: ids.size,
  };
}

/**
 * The checker itself must see a single micro-unit: one is added to a Gold row, one taken from a Silver row and
 * from a Redis hash, and a Bronze row is deleted; the verification must report exactly that.
 */
async function checkerSelfTest(pipeline: Pipeline): Promise<Record<string, unknown>> {
  const pool = pipeline.db.pool;
  await pool.query(
    "UPDATE gold.advertiser_spend SET net_spend = net_spend + 0.000001 WHERE ctid = (SELECT ctid FROM gold.advertiser_spend WHERE net_spend > 0 LIMIT 1)",
  );
  await pool.query(
    "UPDATE silver.ad_click_events_clean SET contrib_gross_micros = contrib_gross_micros - 1 WHERE ctid = (SELECT ctid FROM silver.ad_click_events_clean WHERE contrib_gross_micros > 0 LIMIT 1)",
  );
  await pool.query(
    "DELETE FROM bronze.ad_click_events_raw WHERE ctid = (SELECT ctid FROM bronze.ad_click_events_raw LIMIT 1)",
  );
  // The first advertiser in id order with spend; its key comes from the contract, which encodes the braces and
  // `%` that the hostile-but-valid ids carry (a hand-built key would create a new hash and tamper with nothing).
  const [someone] = [...(await pipeline.store.readStates()).values()]
    .filter((s) => s.netMicros > 0)
    .sort((a, b) => (a.advertiserId < b.advertiserId ? -1 : 1));
  if (someone === undefined)
    throw new Error("checker self-test: no advertiser with spend in Redis to tamper with");
  await pipeline.redis.hincrby(advertiserKey(someone.advertiserId, pipeline.prefix), "net_micros", -1);
  const tampered = await verifyPipeline(pipeline, { redisRetryMs: 0 });
  return Object.fromEntries(
    tampered.checks.map((c) => [
      c.store,
      { mismatches: c.mismatches, lost: c.lostMicros, double: c.doubleMicros },
    ]),
  );
}

/**
 * Scenario 5: ≥ 10,000 fuzzed payloads (fast-check) and a corpus of nasty cases mixed into a stream of good
 * events, keyed like real traffic so they share partitions with it. Every one must land in Bronze with the
 * oracle's reason (and in Silver with its findings), no consumer may crash or stall, and the real advertisers'
 * spend must be exactly that of the good events alone.
 */
export async function poison(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const settings = profile.poison;
  const startedAtMs = Date.now();
  const pipeline = await Pipeline.create({ scenario: "poison", partitions: 4 });
  const monitor = new LagMonitor(pipeline);
  try {
    const nowMs = Date.now();
    const good = liveStream({
      seed: profile.seed + 500,
      events: settings.goodEvents,
      advertisers: 30,
      runId: `px${profile.seed}`,
      ratePerSecond: 2_000,
    });
    const keys = [...new Set(good.map((r) => r.key).filter((k): k is string => k !== null))].sort();
    const corpus = hostileCorpus(keys, nowMs);
    const harmful = corpus.filter((r) => !isHarmless(r.value, nowMs)).map((r) => r.label);
    if (harmful.length > 0) throw new Error(`corpus entries that would move money: ${harmful.join("; ")}`);
    const fuzzed = fuzzedRecords(settings.fuzzedPayloads, profile.seed, keys, nowMs);
    const validOddities = hostileButValid(nowMs);
    const rng = new Prng(profile.seed + 501);
    const inserts = new Map<number, { record: HostileRecord; kind: string }[]>();
    const place = (record: HostileRecord, kind: string) => {
      const at = rng.int(0, good.length - 1);
      inserts.set(at, [...(inserts.get(at) ?? []), { record, kind }]);
    };
    for (const record of [...corpus, ...fuzzed.records]) place(record, "hostile");
    for (const record of validOddities) place(record, "hostile-valid");
    const outgoing: OutgoingRecord[] = [];
    good.forEach((record, index) => {
      outgoing.push({ ...record, headers: { [KIND]: "good" } });
      for (const { record: h, kind } of inserts.get(index) ?? [])
        outgoing.push({
          key: h.key,
          value: h.value,
          timestampMs: record.timestampMs,
          headers: { [KIND]: kind },
        });
    });
    log(
      `${good.length} good + ${corpus.length} corpus + ${fuzzed.records.length} fuzzed (${fuzzed.skippedHarmful} harmful samples skipped) + ${validOddities.length} valid oddities`,
    );

    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    const production = producePaced(pipeline.kafka, pipeline.topic, outgoing, 2_000);
    await production.done;
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const verification = await verifyPipeline(pipeline, { keepOutcomes: true });
    const rows = await checkHostileRows(pipeline, verification);
    const goodSpend = await goodSpendUnchanged(
      pipeline,
      verification.records.filter((r) => r.headers[KIND] === "good"),
    );
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const processes = pipeline.children.children.length;
    const exits = await stopGracefully(pipeline);
    const selfTest = await checkerSelfTest(pipeline);
    return scenarioResult({
      scenario: "5-poison",
      title: "hostile payloads mixed into good traffic",
      startedAtMs,
      verification,
      faults: [],
      monitor,
      extra: {
        hostilePayloads: corpus.length + fuzzed.records.length,
        corpus: corpus.length,
        fuzzed: fuzzed.records.length,
        fuzzedHarmfulSkipped: fuzzed.skippedHarmful,
        validOddities: validOddities.length,
        rows,
        goodSpend,
        processes,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
        checkerSelfTest: selfTest,
      },
    });
  } finally {
    monitor.stop();
    await pipeline.close();
  }
}
