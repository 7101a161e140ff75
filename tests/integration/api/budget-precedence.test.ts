import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { SpendStore } from "@adpipe/spend-store";
import { reconcileWithWarehouse } from "@adpipe/store-sync";
import { storedOffsets } from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerRebuild } from "../../../packages/cli/src/commands/rebuild-redis.js";
import { buildProgram, runProgram } from "../../../packages/cli/src/program.js";
import { testServices, uniqueName } from "../../support/index.js";
import {
  endOffsets,
  eventually,
  produceRecords,
  trackerEnv,
  waitCaughtUp,
} from "../realtime/support/harness.js";
import { diffAgainstOracle } from "../realtime/support/oracle-compare.js";
import { expectedGold, readGold } from "../warehouse/support.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";
import { TopicReader } from "./topic-reader.js";

// A budget set by an operator (PUT /v1/advertisers/{id}/budget, or a budget_update
// event) stays in force while later clicks carry other budgets, in Postgres Gold and in Redis, by the rule of
// docs/core.md ("Budget precedence"); `adpipe rebuild-redis` restores the same budget and source from Postgres.
// Everything real: API → Kafka → ingestor (Postgres) and budget-tracker (Redis), checked against the oracle.

interface Serving {
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  budget_micros: number | null;
  budget_source: string | null;
  net_micros: number | null;
}

const API_CO = "op-api"; // the operator sets its budget through the API
const EVENT_CO = "op-event"; // the operator sends a budget_update event
const WEB_CO = "web-only"; // only the advertiser's web app: budgets on clicks

let bench: ApiBench;
let ingestor: IngestorService;
let tracker: TrackerService | undefined;
let reader: TopicReader;
let store: SpendStore;
const ingestorGroup = uniqueName("prec-ingestor");
let clickSeq = 0;

/** A click as the seed's web app sends it: with the budget the web app knows. */
function click(advertiserId: string, budget: number, atMs: number) {
  const value = JSON.stringify({
    event_type: "ad_click",
    click_id: `prec-${clickSeq++}`,
    advertiser: advertiserId,
    advertiser_id: advertiserId,
    ad_id: "ad-1",
    amount: "0.25",
    budget_value: budget,
    timestamp: new Date(atMs).toISOString(),
  });
  return { key: advertiserId, value: Buffer.from(value), timestampMs: atMs };
}

function budgetUpdate(advertiserId: string, budget: number, atMs: number) {
  const value = JSON.stringify({
    event_type: "budget_update",
    advertiser_id: advertiserId,
    budget_value: budget,
    timestamp: new Date(atMs).toISOString(),
  });
  return { key: advertiserId, value: Buffer.from(value), timestampMs: atMs };
}

const serving = async (id: string) =>
  (await call<Serving>(bench.baseUrl, "GET", `/v1/advertisers/${id}/serving`, { token: READ_TOKEN })).body;

async function bothCaughtUp(): Promise<void> {
  await waitCaughtUp(store, bench.topic.kafka, bench.topic.topic, 90_000);
  const target = await endOffsets(bench.topic.kafka, bench.topic.topic);
  await eventually(
    "the ingestor wrote every record",
    async () => {
      const client = await bench.db.admin.connect();
      try {
        const stored = new Map(
          (await storedOffsets(client, { topic: bench.topic.topic, pipeline: ingestorGroup })).map((o) => [
            o.partition,
            Number(o.offset),
          ]),
        );
        return target.every(
          ({ partition, offset }) => offset === 0 || (stored.get(partition) ?? 0) >= offset,
        );
      } finally {
        client.release();
      }
    },
    90_000,
  );
}

/** The oracle over everything on the topic (read back, so the API's own event is included byte for byte). */
async function oracle(): Promise<Oracle> {
  const ends = await endOffsets(bench.topic.kafka, bench.topic.topic);
  const total = ends.reduce((sum, { offset }) => sum + offset, 0);
  await eventually("the reader saw every record", () => reader.records.length >= total, 30_000);
  return new Oracle().observeAll(
    reader.records.map((r) => ({ value: r.value, timestampMs: r.timestampMs, key: r.key })),
  );
}

/** Gold's budget columns of an advertiser's rows, oldest first. */
async function goldBudgets(
  id: string,
): Promise<{ windowEnd: Date; budget: string | null; source: string | null }[]> {
  const { rows } = await bench.db.admin.query<{
    window_end: Date;
    budget: string | null;
    source: string | null;
  }>(
    `SELECT window_end, budget_value::text AS budget, budget_source AS source
     FROM gold.advertiser_spend WHERE advertiser_id = $1 ORDER BY window_start`,
    [id],
  );
  return rows.map((row) => ({ windowEnd: row.window_end, budget: row.budget, source: row.source }));
}

beforeAll(async () => {
  bench = await startApiBench("precedence", { partitions: 2 });
  reader = await TopicReader.start(bench.topic.kafka, bench.topic.topic);
  store = new SpendStore({ redis: bench.redis, topic: bench.topic.topic, prefix: bench.prefix });
  const services = testServices();
  ingestor = await startIngestorService(
    loadIngestorConfig({
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      KAFKA_TOPIC: bench.topic.topic,
      DATABASE_URL: bench.db.adminUrl,
      INGESTOR_GROUP_ID: ingestorGroup,
      MIGRATE_ON_START: "false",
      RETENTION_INTERVAL_MS: "0",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "error",
    }),
  );
  tracker = await startTrackerService(
    loadTrackerConfig(
      trackerEnv({
        topic: bench.topic.topic,
        prefix: bench.prefix,
        databaseUrl: bench.db.adminUrl,
        extra: { WAREHOUSE_PIPELINE: ingestorGroup, RECONCILE_INTERVAL_MS: "0" },
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await tracker?.stop();
  await ingestor?.stop();
  await reader?.stop();
  await bench?.close();
});

describe("an operator's budget survives later clicks carrying other budgets", () => {
  const start = Date.now() - 120_000;

  it("before any explicit budget, the budget on clicks is in force (source click)", async () => {
    await produceRecords(bench.topic.kafka, bench.topic.topic, [
      click(API_CO, 100, start),
      click(EVENT_CO, 100, start + 1_000),
      click(WEB_CO, 100, start + 2_000),
    ]);
    await bothCaughtUp();
    for (const id of [API_CO, EVENT_CO, WEB_CO]) {
      expect(await serving(id)).toMatchObject({
        known: true,
        budget_micros: 100_000_000,
        budget_source: "click",
      });
    }
  });

  it("a PUT and a budget_update event stay in force through later clicks with other budgets, in Redis and Gold", async () => {
    const put = await call<Record<string, unknown>>(
      bench.baseUrl,
      "PUT",
      `/v1/advertisers/${API_CO}/budget`,
      {
        body: { amount: "7.50" },
        token: WRITE_TOKEN,
      },
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      old_budget_micros: 100_000_000,
      old_budget_source: "click",
      new_budget_micros: 7_500_000,
      budget_source: "api",
    });
    const operatorAt = Date.now();
    await produceRecords(bench.topic.kafka, bench.topic.topic, [budgetUpdate(EVENT_CO, 12, operatorAt)]);
    await eventually(
      "the API's budget applied",
      async () => (await serving(API_CO)).budget_source === "api",
      30_000,
    );

    // The web app keeps sending the budgets it knows, newer by event time than both operator changes.
    const later = operatorAt + 1_000;
    await produceRecords(bench.topic.kafka, bench.topic.topic, [
      click(API_CO, 250, later),
      click(EVENT_CO, 250, later + 1),
      click(WEB_CO, 250, later + 2),
      click(API_CO, 999, later + 3),
      click(EVENT_CO, 999, later + 4),
    ]);
    await bothCaughtUp();

    // Redis, as ad servers and the API read it.
    expect(await serving(API_CO)).toMatchObject({ budget_micros: 7_500_000, budget_source: "api" });
    expect(await serving(EVENT_CO)).toMatchObject({
      budget_micros: 12_000_000,
      budget_source: "budget_update",
    });
    expect(await serving(WEB_CO)).toMatchObject({ budget_micros: 250_000_000, budget_source: "click" });
    // 3 clicks of 0.25 against 7.50: serving; the reverted budget would have said the same, so check the field.
    expect((await store.readState(API_CO))?.budgetSource).toBe("api");

    // Postgres Gold: the window holding the later clicks ends after the operator's change.
    const apiRows = await goldBudgets(API_CO);
    expect(apiRows.at(-1)).toMatchObject({ budget: "7.500000", source: "api" });
    expect((await goldBudgets(EVENT_CO)).at(-1)).toMatchObject({
      budget: "12.000000",
      source: "budget_update",
    });
    expect((await goldBudgets(WEB_CO)).at(-1)).toMatchObject({ budget: "250.000000", source: "click" });
    const history = await bench.db.admin.query<{ source: string; n: number }>(
      "SELECT source, count(*)::int AS n FROM gold.budget_history GROUP BY source ORDER BY source",
    );
    expect(history.rows).toEqual([
      { source: "api", n: 1 },
      { source: "budget_update", n: 1 },
      { source: "click", n: 8 },
    ]);

    // Both stores equal the oracle over the whole topic, to the micro and the source.
    const expected = await oracle();
    expect(diffAgainstOracle(await store.readStates(), expected.servingStateAt(Date.now()))).toEqual([]);
    expect(await readGold(bench.db.admin)).toEqual(expectedGold(expected));
  });

  it("`adpipe rebuild-redis` from Postgres restores the same budgets and sources", async () => {
    await tracker?.stop();
    tracker = undefined;
    const before = await store.readStates();
    const saved = { ...process.env };
    Object.assign(process.env, {
      REDIS_URL: testServices().redisUrl,
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: bench.topic.topic,
      DATABASE_URL: bench.db.adminUrl,
      REDIS_KEY_PREFIX: bench.prefix,
      WAREHOUSE_PIPELINE: ingestorGroup,
    });
    let code: number;
    try {
      code = await runProgram(buildProgram([registerRebuild]), [
        "node",
        "adpipe",
        "rebuild-redis",
        "--source",
        "warehouse",
        "--wait-lock",
        "10000",
      ]);
    } finally {
      process.env = saved;
    }
    expect(code).toBe(0);
    const after = await store.readStates();
    expect(after.size).toBe(before.size);
    const budgets = (states: typeof after) =>
      [...states.values()]
        .map((s) => [s.advertiserId, s.budgetMicros, s.budgetSource, s.budgetEventTimeMs, s.netMicros])
        .sort();
    expect(budgets(after)).toEqual(budgets(before));
    expect(after.get(API_CO)).toMatchObject({ budgetMicros: 7_500_000, budgetSource: "api" });
    expect(after.get(EVENT_CO)).toMatchObject({ budgetMicros: 12_000_000, budgetSource: "budget_update" });
    expect(diffAgainstOracle(after, (await oracle()).servingStateAt(Date.now()))).toEqual([]);
    expect(await serving(API_CO)).toMatchObject({ budget_micros: 7_500_000, budget_source: "api" });
    const report = await reconcileWithWarehouse(store, bench.db.admin, { pipeline: ingestorGroup });
    expect(report.mismatched).toEqual([]);
  });
});
