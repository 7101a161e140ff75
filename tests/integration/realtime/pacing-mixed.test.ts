import { formatServeFraction, formatShape, MS_PER_HOUR, trafficShapeOf } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { advertiserKey } from "@adpipe/serving-client";
import { SpendStore, withRebuildLock } from "@adpipe/spend-store";
import { rebuildState } from "@adpipe/store-sync";
import { shapeHistory } from "@adpipe/warehouse";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";

// A generated stream of advertisers with mixed pacing (even, shaped, asap, none), periods and time zones (DST
// and half-hour zones) goes through the real broker into both stores. At several instants of the day (the
// tracker's injected clock) every Redis hash must say what the oracle predicts (pacingDecisionsAt): can_serve,
// reason, serve_fraction, with shaped advertisers paced by the shape the tracker learnt from Gold's last 7 days
// (seeded history plus the stream's own hours). Then a rebuild from the warehouse must restore those shapes at
// once, not pace shaped advertisers even until the next shape refresh.

const H = MS_PER_HOUR;
const DAY = 24 * H;
const START = Date.UTC(2027, 2, 14); // America/New_York springs forward today: a 23-hour day.
/** The stream of packages/core/test/pacing.test.ts (MIXED_PACING_STREAM): every decision occurs in it. */
const stream = generated({
  seed: 13,
  events: 3_000,
  advertisers: 20,
  startMs: START,
  spanMs: 8 * H,
  pacingShare: 0.8,
  calendarShare: 0.4,
  budgetMicros: { min: 50_000_000, max: 800_000_000 },
});
const oracle = new Oracle().observeAll(stream);
const INSTANTS = [8, 10, 13, 22].map((hour) => START + hour * H);
const TOLERANCE_BP = 500;
const lastRecordMs = stream.at(-1)?.timestampMs ?? START;

let now = INSTANTS[0] as number;
const pipeline = useRealtimePipeline({
  name: "rt-pace-mixed",
  partitions: 3,
  ingestor: { env: { INGESTOR_MAX_BATCH_RECORDS: "500" } },
  tracker: {
    env: {
      PACING_CHECK_INTERVAL_MS: "100",
      PACING_SHAPE_REFRESH_INTERVAL_MS: "200",
      PACING_TOLERANCE_PCT: "5",
      RECONCILE_INTERVAL_MS: "0",
    },
    options: { clock: () => now },
  },
});

/** The hours of the day (UTC) each advertiser's seeded history spends in: morning, evening or office hours. */
function historyHours(index: number): number[] {
  if (index % 3 === 0) return [0, 1, 2, 3, 4, 5];
  if (index % 3 === 1) return [17, 18, 19, 20, 21];
  return [9, 10, 11, 12, 13, 14, 15, 16];
}

/** Gold rows of the 7 days before the stream's day: 1.5 in each hour of historyHours, per advertiser. */
async function seedGoldHistory(ids: readonly string[]): Promise<void> {
  for (const [index, id] of ids.entries()) {
    await pipeline.database.pool.query(
      `INSERT INTO gold.advertiser_spend
         (advertiser_id, gross_spend, net_spend, record_count, window_start, window_end,
          spend_hour, spend_day, spend_month, valid_clicks)
       SELECT $1, 1.5, 1.5, 1, w, w + interval '1 hour', w, date_trunc('day', w, 'UTC'),
              date_trunc('month', w, 'UTC'), 1
       FROM generate_series(1, 7) AS d(day), unnest($2::int[]) AS h(hour),
            LATERAL (SELECT 'epoch'::timestamptz + ($3::bigint - d.day * $4::bigint + h.hour * $5::bigint)
                                                   * interval '1 millisecond' AS w) x`,
      [id, historyHours(index), START, DAY, H],
    );
  }
}

/** The shapes the tracker must have learnt at `atMs`: trafficShapeOf of Gold in each advertiser's zone. */
async function expectedShapes(atMs: number): Promise<Map<string, number[]>> {
  const shaped = oracle
    .pacingDecisionsAt(atMs, TOLERANCE_BP)
    .filter((d) => d.pacing === "shaped")
    .map((d) => d.advertiserId);
  const zones = new Map(oracle.servingStateAt(atMs).map((s) => [s.advertiserId, s.calendar?.timeZone]));
  const endMs = Math.floor(atMs / H) * H;
  const history = await shapeHistory(pipeline.database.pool, shaped, endMs);
  const shapes = new Map<string, number[]>();
  for (const id of shaped) {
    const shape = trafficShapeOf(history.get(id) ?? [], zones.get(id) ?? "UTC", endMs);
    if (shape !== null) shapes.set(id, shape);
  }
  return shapes;
}

/** Every hash against the oracle's pacing decision at `atMs` (and `_shape` of shaped ones); [] when equal. */
async function differences(atMs: number, shapes: ReadonlyMap<string, number[]>): Promise<string[]> {
  const { redis, prefix } = pipeline;
  const problems: string[] = [];
  const states = new Map(oracle.servingStateAt(atMs).map((s) => [s.advertiserId, s]));
  for (const { advertiserId, pacing, decision } of oracle.pacingDecisionsAt(atMs, TOLERANCE_BP, shapes)) {
    const key = advertiserKey(advertiserId, prefix);
    const [period, net, canServe, reason, fraction, stored, shape] = await redis.hmget(
      key,
      "period",
      "net_micros",
      "can_serve",
      "reason",
      "serve_fraction",
      "pacing",
      "_shape",
    );
    const state = states.get(advertiserId);
    if (period === null) {
      // No hash: fails closed, right only for an advertiser the oracle would not serve anyway.
      if (decision.canServe) problems.push(`${advertiserId}: no hash, oracle serves it`);
      continue;
    }
    const got = {
      period,
      net: Number(net),
      canServe: canServe === "1",
      reason: reason ?? null,
      fraction,
      pacing: stored,
      shape: shape ?? "",
    };
    const want = {
      period: state?.period,
      net: state?.netMicros,
      canServe: decision.canServe,
      reason: decision.reason,
      fraction: pacing === null ? null : formatServeFraction(decision.serveFractionBp),
      pacing,
      shape: pacing === "shaped" ? formatShape(shapes.get(advertiserId) ?? null) : got.shape,
    };
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`${advertiserId}: ${JSON.stringify(got)} != oracle ${JSON.stringify(want)}`);
  }
  return problems;
}

async function expectAsOracle(atMs: number): Promise<void> {
  const shapes = await expectedShapes(atMs);
  let problems: string[] = [];
  await eventually(
    `Redis paces as the oracle at ${new Date(atMs).toISOString()}`,
    async () => {
      problems = await differences(atMs, shapes);
      return problems.length === 0;
    },
    15_000,
  ).catch(() => undefined);
  expect(problems).toEqual([]);
}

describe("a generated mixed-pacing stream: Redis paces as the oracle predicts at given instants", () => {
  it("the stream mixes pacing modes, calendars and decisions", () => {
    expect(lastRecordMs).toBeLessThanOrEqual(INSTANTS[0] as number);
    const decisions = INSTANTS.flatMap((at) => oracle.pacingDecisionsAt(at, TOLERANCE_BP));
    expect(new Set(decisions.map((d) => d.pacing))).toEqual(new Set([null, "asap", "even", "shaped"]));
    expect(decisions.some((d) => d.decision.reason === "ahead_of_pace")).toBe(true);
    const calendars = oracle.servingStateAt(START + 8 * H).map((s) => s.calendar?.timeZone ?? "default");
    expect(new Set(calendars).size).toBeGreaterThan(2);
  });

  it("through Kafka and the tracker: can_serve, reason, serve_fraction and _shape at 08:00, 10:00, 13:00, 22:00", async () => {
    const { topic, reader } = pipeline;
    await seedGoldHistory(oracle.advertisers());
    await produceRecords(topic.kafka, topic.topic, stream);
    await Promise.all([
      waitCaughtUp(reader, topic.kafka, topic.topic, 120_000),
      pipeline.ingestorCaughtUp(120_000),
    ]);
    let shapedWithShape = 0;
    for (const at of INSTANTS) {
      now = at;
      shapedWithShape += (await expectedShapes(at)).size;
      await expectAsOracle(at);
    }
    // The shapes were really learnt (not every shaped advertiser pacing even).
    expect(shapedWithShape).toBeGreaterThan(0);
  });

  it("a rebuild from the warehouse restores `_shape` at once: the rebuilt hashes pace as the oracle predicts", async () => {
    const { topic, redis, prefix, database, ingestorGroup } = pipeline;
    // The tracker's shape refresh must not be what restores the shapes: stop it first.
    await pipeline.tracker.stop();
    const at = START + 15 * H + 20 * 60_000;
    now = at;
    const store = new SpendStore({
      redis,
      topic: topic.topic,
      prefix,
      clock: () => at,
      pacingToleranceBp: TOLERANCE_BP,
    });
    await store.loadScripts();
    await withRebuildLock(
      store,
      () => rebuildState(store, { kind: "warehouse", pool: database.pool, pipeline: ingestorGroup }),
      { waitMs: 10_000 },
    );
    const shapes = await expectedShapes(at);
    expect(shapes.size).toBeGreaterThan(0);
    expect(await differences(at, shapes)).toEqual([]);
  });
});
