import type { GeneratedRecord } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { SpendStore, withRebuildLock } from "@adpipe/spend-store";
import { rebuildState } from "@adpipe/store-sync";
import { describe, expect, it } from "vitest";
import { readGold } from "../warehouse/support.js";
import { produceRecords, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { runRebuildRedis, useRealtimePipeline } from "./support/pipeline.js";

// Per-advertiser budget calendars end to end: advertisers set their own budget_period and IANA time_zone with
// budget_update events, and their clicks run through the real broker into BOTH stores. The DST days are the
// next ones (2027): America/New_York and Europe/Berlin spring forward (23-hour days) and fall back (25-hour
// days); Asia/Kolkata's day and hour start at :30 UTC. Record timestamps lie on those days (in the future of
// the wall clock), so each hash's period is that of its advertiser's newest record, as the oracle's is.

const H = 3_600_000;
const MIN = 60_000;

interface Scenario {
  readonly id: string;
  /** The calendar fields of its first budget update ({} = the service-wide day in UTC). */
  readonly calendar: { budget_period?: string; time_zone?: string };
  /** [start, end) of the local period the last record falls in, and its expected length. */
  readonly startMs: number;
  readonly endMs: number;
  readonly period: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: "ny-spring",
    calendar: { budget_period: "day", time_zone: "America/New_York" },
    startMs: Date.UTC(2027, 2, 14, 5),
    endMs: Date.UTC(2027, 2, 15, 4),
    period: "2027-03-14",
  },
  {
    id: "berlin-spring",
    calendar: { budget_period: "day", time_zone: "Europe/Berlin" },
    startMs: Date.UTC(2027, 2, 27, 23),
    endMs: Date.UTC(2027, 2, 28, 22),
    period: "2027-03-28",
  },
  {
    id: "berlin-fall",
    calendar: { time_zone: "Europe/Berlin" },
    startMs: Date.UTC(2027, 9, 30, 22),
    endMs: Date.UTC(2027, 9, 31, 23),
    period: "2027-10-31",
  },
  {
    id: "ny-fall",
    calendar: { budget_period: "day", time_zone: "America/New_York" },
    startMs: Date.UTC(2027, 10, 7, 4),
    endMs: Date.UTC(2027, 10, 8, 5),
    period: "2027-11-07",
  },
  {
    id: "kolkata-day",
    calendar: { budget_period: "day", time_zone: "Asia/Kolkata" },
    startMs: Date.UTC(2027, 2, 13, 18, 30),
    endMs: Date.UTC(2027, 2, 14, 18, 30),
    period: "2027-03-14",
  },
  {
    id: "kolkata-hour",
    calendar: { budget_period: "hour", time_zone: "Asia/Kolkata" },
    startMs: Date.UTC(2027, 2, 14, 11, 30),
    endMs: Date.UTC(2027, 2, 14, 12, 30),
    period: "2027-03-14T17+05:30",
  },
  {
    id: "plain-utc",
    calendar: {},
    startMs: Date.UTC(2027, 2, 14),
    endMs: Date.UTC(2027, 2, 15),
    period: "2027-03-14",
  },
];

const encoder = new TextEncoder();
function record(advertiserId: string, fields: object, timestampMs: number): GeneratedRecord {
  const value = encoder.encode(JSON.stringify({ advertiser_id: advertiserId, ...fields }));
  return { key: advertiserId, value, timestampMs, kind: "click" };
}

/** One advertiser's records in log order (record timestamps increase). */
function scenarioRecords(s: Scenario): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  const budgetAt = s.startMs - 2 * H;
  out.push(
    record(
      s.id,
      { event_type: "budget_update", budget_value: 40, ...s.calendar, timestamp: budgetAt },
      budgetAt,
    ),
  );
  // The last millisecond before the period: the previous period's, never counted in this one.
  out.push(
    record(
      s.id,
      { event_type: "ad_click", click_id: `${s.id}-before`, amount: 7, timestamp: s.startMs - 1 },
      s.startMs - 1,
    ),
  );
  const step = Math.max(5 * MIN, Math.floor((s.endMs - s.startMs) / 24));
  let n = 0;
  for (let t = s.startMs; t < s.endMs; t += step) {
    out.push(
      record(s.id, { event_type: "ad_click", click_id: `${s.id}-${n}`, amount: "1.25", timestamp: t }, t),
    );
    // A duplicate now and then (never counted twice).
    if (n % 7 === 3)
      out.push(
        record(
          s.id,
          { event_type: "ad_click", click_id: `${s.id}-${n}`, amount: "1.25", timestamp: t },
          t + 1,
        ),
      );
    n++;
  }
  // A late click (record time inside the period, event time before it) and the period's last millisecond.
  out.push(
    record(
      s.id,
      { event_type: "ad_click", click_id: `${s.id}-late`, amount: 3, timestamp: s.startMs - 10 * MIN },
      s.endMs - 2,
    ),
  );
  out.push(
    record(
      s.id,
      { event_type: "ad_click", click_id: `${s.id}-last`, amount: 2, timestamp: s.endMs - 1 },
      s.endMs - 1,
    ),
  );
  return out;
}

/**
 * An advertiser on the service-wide calendar that moves to Europe/Berlin mid-day: its period restarts at the
 * change (clicks before it stay in the UTC day); re-stating the same calendar later changes nothing.
 */
function switcherRecords(): GeneratedRecord[] {
  const id = "switcher";
  const day = Date.UTC(2027, 2, 28);
  const out = [record(id, { event_type: "budget_update", budget_value: 30, timestamp: day - H }, day - H)];
  for (let i = 0; i < 10; i++) {
    const t = day + i * H;
    out.push(record(id, { event_type: "ad_click", click_id: `${id}-a${i}`, amount: 2, timestamp: t }, t));
  }
  const change = day + 10 * H + 30 * MIN;
  out.push(
    record(
      id,
      { event_type: "budget_update", budget_value: 30, time_zone: "Europe/Berlin", timestamp: change },
      change,
    ),
  );
  for (let i = 0; i < 8; i++) {
    const t = change + (i + 1) * H;
    out.push(record(id, { event_type: "ad_click", click_id: `${id}-b${i}`, amount: 3, timestamp: t }, t));
    if (i === 3) {
      out.push(
        record(
          id,
          {
            event_type: "budget_update",
            budget_value: 30,
            budget_period: "day",
            time_zone: "Europe/Berlin",
            timestamp: t + 1,
          },
          t + 1,
        ),
      );
    }
  }
  return out;
}

const perAdvertiser = [...SCENARIOS.map(scenarioRecords), switcherRecords()];
// Interleave the advertisers' logs (each keeps its own order; they go to partitions by key).
const stream: GeneratedRecord[] = [];
for (let i = 0; perAdvertiser.some((list) => i < list.length); i++) {
  for (const list of perAdvertiser) {
    const r = list[i];
    if (r !== undefined) stream.push(r);
  }
}
const oracle = new Oracle().observeAll(stream);
const lastRecordMs = new Map(
  perAdvertiser.map((list) => [list[0]?.key as string, list.at(-1)?.timestampMs as number]),
);

/** The oracle's state of each advertiser at its own last record: what its hash must hold. */
function expectedStates() {
  return [...lastRecordMs].map(([id, at]) => {
    const state = oracle.servingStateAt(at).find((s) => s.advertiserId === id);
    if (state === undefined) throw new Error(`the oracle never saw ${id}`);
    return state;
  });
}

const pipeline = useRealtimePipeline({
  name: "rt-calendars",
  partitions: 3,
  ingestor: { env: { INGESTOR_MAX_BATCH_RECORDS: "50" } },
  tracker: { env: { RECONCILE_INTERVAL_MS: "0" } },
});

describe("per-advertiser budget periods and time zones through Kafka into both stores", () => {
  it("the oracle's periods are the DST-aware local ones (23- and 25-hour days, half-hour offsets)", () => {
    for (const s of SCENARIOS) {
      const state = expectedStates().find((e) => e.advertiserId === s.id);
      expect(state, s.id).toMatchObject({ period: s.period, periodStartMs: s.startMs, periodEndMs: s.endMs });
    }
    const lengths = SCENARIOS.map((s) => (s.endMs - s.startMs) / H);
    expect(lengths).toEqual([23, 23, 25, 25, 24, 1, 24]);
    const switcher = expectedStates().find((e) => e.advertiserId === "switcher");
    // Restarted at the change: only the 8 clicks after it, in Berlin's 23-hour day.
    expect(switcher).toMatchObject({ period: "2027-03-28", clicks: 8, netMicros: 24_000_000 });
    expect(switcher?.calendar).toEqual({ period: "day", timeZone: "Europe/Berlin" });
  });

  it("Redis equals the oracle per advertiser calendar, and Gold's hours equal it too", async () => {
    const { topic, reader, database } = pipeline;
    await produceRecords(topic.kafka, topic.topic, stream, 20);
    await Promise.all([
      waitCaughtUp(reader, topic.kafka, topic.topic, 120_000),
      pipeline.ingestorCaughtUp(120_000),
    ]);

    const states = await reader.readStates();
    expect(diffAgainstOracle(states, expectedStates())).toEqual([]);
    for (const s of SCENARIOS) {
      const want = {
        budget_period: s.calendar.budget_period ?? "day",
        time_zone: s.calendar.time_zone ?? "UTC",
      };
      const got = states.get(s.id);
      expect({ budget_period: got?.budgetPeriod, time_zone: got?.timeZone }, s.id).toEqual(want);
    }
    expect(states.get("switcher")).toMatchObject({ budgetPeriod: "day", timeZone: "Europe/Berlin" });

    // Gold keeps UTC hours whatever the advertiser's calendar: its hourly sums equal the oracle's.
    const hourly = (rows: Record<string, unknown>[]) =>
      rows.map((r) => [
        r.advertiserId,
        r.windowStartMs,
        r.grossMicros,
        r.netMicros,
        r.recordCount,
        r.duplicateClicks,
      ]);
    const gold = await readGold(database.pool);
    expect(hourly(gold)).toEqual(hourly(oracle.goldRows() as unknown as Record<string, unknown>[]));
    // Each hour's period_net_spend and can_serve are those of its advertiser's period in force at its records
    // (goldRowPeriodNet: own calendars, the restart at a change, Kolkata's half-hour periods cutting hours).
    const serving = (rows: Record<string, unknown>[]) =>
      rows.map((r) => [
        r.advertiserId,
        r.windowStartMs,
        r.periodNetMicros,
        r.budgetMicros,
        r.canServe,
        r.reason,
      ]);
    expect(serving(gold)).toEqual(serving(oracle.goldRows() as unknown as Record<string, unknown>[]));

    // Each hour's local_spend_day is the local date of its start in the zone in force then; spend_day stays UTC.
    const zoneAt = (id: string, hourMs: number): string => {
      if (id === "switcher") return hourMs >= Date.UTC(2027, 2, 28, 10, 30) ? "Europe/Berlin" : "UTC";
      return SCENARIOS.find((s) => s.id === id)?.calendar.time_zone ?? "UTC";
    };
    const localDate = (ms: number, timeZone: string) =>
      new Intl.DateTimeFormat("en-CA", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      }).format(ms);
    const { rows } = await database.pool.query<{ id: string; ws: string; local: string; utc: string }>(
      `SELECT advertiser_id AS id, (extract(epoch FROM window_start) * 1000)::bigint::text AS ws,
              local_spend_day::text AS local, (spend_day AT TIME ZONE 'UTC')::date::text AS utc
       FROM gold.advertiser_spend ORDER BY advertiser_id, window_start`,
    );
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) {
      const ws = Number(row.ws);
      expect([row.id, ws, row.local, row.utc]).toEqual([
        row.id,
        ws,
        localDate(ws, zoneAt(row.id, ws)),
        localDate(ws, "UTC"),
      ]);
    }
    // The DST days and Kolkata's half hour move the local date away from the UTC one.
    expect(rows.filter((row) => row.local !== row.utc).length).toBeGreaterThan(10);
  });

  it("a rebuild from the warehouse restores each calendar and its own period's spend (DST days included)", async () => {
    const { topic, redis, prefix, database, ingestorGroup } = pipeline;
    // `adpipe rebuild-redis` (the wall clock's periods): every hash gets its calendar back.
    expect(await runRebuildRedis(pipeline)).toBe(0);
    const rebuilt = await pipeline.reader.readStates();
    for (const s of SCENARIOS) {
      const want = {
        budgetPeriod: s.calendar.budget_period ?? "day",
        timeZone: s.calendar.time_zone ?? "UTC",
      };
      expect(rebuilt.get(s.id), s.id).toMatchObject(want);
    }
    expect(rebuilt.get("switcher")).toMatchObject({ budgetPeriod: "day", timeZone: "Europe/Berlin" });
    // berlin-fall set its zone only (at its budget update, 2 h before its period): the period was never set.
    const berlinFall = SCENARIOS.find((s) => s.id === "berlin-fall") as Scenario;
    const hash = await redis.hmget(pipeline.reader.keys.advertiser("berlin-fall"), "_period_ts", "_tz_ts");
    expect(hash).toEqual([null, String(berlinFall.startMs - 2 * H)]);

    // The same rebuild at each advertiser's last record (the store's clock): its hash equals the oracle's
    // state there, in its own local period (23- and 25-hour days, Kolkata's half hours, the switcher's restart).
    for (const want of expectedStates()) {
      const at = lastRecordMs.get(want.advertiserId) as number;
      const store = new SpendStore({ redis, topic: topic.topic, prefix, clock: () => at });
      await store.loadScripts();
      await withRebuildLock(
        store,
        () => rebuildState(store, { kind: "warehouse", pool: database.pool, pipeline: ingestorGroup }),
        { waitMs: 10_000 },
      );
      const states = await store.readStates();
      const got = new Map([...states].filter(([id]) => id === want.advertiserId));
      expect(diffAgainstOracle(got, [want]), want.advertiserId).toEqual([]);
    }
  });
});
