import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import {
  type CommittedBatch,
  type IngestorService,
  loadIngestorConfig,
  startIngestorService,
} from "@adpipe/ingestor";
import { createLogger } from "@adpipe/telemetry";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, REPO_ROOT, type TestTopic, testServices, uniqueName } from "../../support/index.js";
import {
  bronzeByReason,
  createTestDatabase,
  endOffsets,
  expectedBronzeByReason,
  expectedGold,
  produceRecords,
  readGold,
  storedProgress,
  type TestDatabase,
  waitForIngested,
} from "./support.js";

const PARTITIONS = 4;
// Small fetches (a few hundred records per partition; above the ~26 KiB record batches produceRecords makes, or
// the broker answers with one partition only): every fetch brings all partitions, each batch far below
// INGESTOR_MAX_BATCH_RECORDS, which is what group commit joins.
const SMALL_FETCH = {
  INGESTOR_MAX_BYTES_PER_PARTITION: "65536",
  INGESTOR_MAX_BATCH_RECORDS: "2000",
  OPS_PORT: "0",
  OPS_HOST: "127.0.0.1",
  RETENTION_INTERVAL_MS: "0",
  LOG_LEVEL: "warn",
};

/** Postgres transactions that wrote Bronze rows (xmin), with the partitions and rows each wrote. */
async function bronzeTransactions(pool: pg.Pool): Promise<{ partitions: number; rows: number }[]> {
  const { rows } = await pool.query<{ partitions: number; rows: number }>(
    `SELECT count(DISTINCT "partition")::int AS partitions, count(*)::int AS rows
       FROM bronze.ad_click_events_raw GROUP BY xmin::text`,
  );
  return rows;
}

/** The sum of a counter's values in the service's registry (0 when it has none). */
async function counterValue(service: IngestorService, name: string): Promise<number> {
  const metric = service.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

function spawnIngestor(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/ingestor/src/main.ts"],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

describe("ingestor group commit: the partitions of a fetch in one transaction", () => {
  let db: TestDatabase;
  let killDb: TestDatabase;
  let topic: TestTopic;
  let service: IngestorService | undefined;
  const children: ChildProcess[] = [];
  const records = [...generateStream({ seed: 19, events: 12_000, advertisers: 30 })];
  const oracle = new Oracle().observeAll(records);

  beforeAll(async () => {
    [db, killDb, topic] = await Promise.all([
      createTestDatabase("ingestor_group_commit"),
      createTestDatabase("ingestor_group_commit_kill"),
      createTestTopic("wh-group-commit", PARTITIONS),
    ]);
    await produceRecords(topic.kafka, topic.topic, records);
  });
  afterAll(async () => {
    await service?.stop();
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.allSettled([db?.drop(), killDb?.drop(), topic?.delete()]);
  });

  it("writes several partitions' batches in ONE transaction, reports each once, totals exact", {
    timeout: 180_000,
  }, async () => {
    const group = uniqueName("wh-group-commit");
    const committed: CommittedBatch[] = [];
    service = await startIngestorService(
      loadIngestorConfig({
        ...SMALL_FETCH,
        // Group commit as such: fetch-ahead (which submits each partition's next batch when its own commit ends)
        // joins fewer partitions per transaction; the kill test below runs with it.
        INGESTOR_FETCH_AHEAD: "false",
        KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
        KAFKA_TOPIC: topic.topic,
        DATABASE_URL: db.url,
        INGESTOR_GROUP_ID: group,
      }),
      {
        logger: createLogger({ service: "ingestor-group-commit", level: "warn" }),
        onBatchCommitted: (batch) => {
          if (batch.result.written > 0) committed.push(batch);
        },
      },
    );
    await waitForIngested(db.pool, group, topic.topic, await endOffsets(topic.kafka, topic.topic));
    const ingested = service;
    await service.stop();
    service = undefined;

    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    expect(await bronzeByReason(db.pool)).toEqual(expectedBronzeByReason(oracle));

    // Postgres' own view: the transactions that wrote Bronze, and how many partitions each covered.
    const transactions = await bronzeTransactions(db.pool);
    const combined = transactions.filter((t) => t.partitions > 1);
    console.log(
      `[ingestor-group-commit] ${records.length} records in ${transactions.length} transactions, ` +
        `${combined.length} of them across several partitions`,
    );
    expect(combined.length).toBeGreaterThan(0);
    // Without group commit every transaction holds one partition; here a fetch's partitions share one.
    const partitionBatches = transactions.reduce((sum, t) => sum + t.partitions, 0);
    expect(partitionBatches).toBeGreaterThanOrEqual(2 * transactions.length);
    // One onBatchCommitted per transaction, naming its partitions; every record's timestamp reported once.
    expect(committed).toHaveLength(transactions.length);
    expect(committed.map((b) => b.partitions.length).sort()).toEqual(
      transactions.map((t) => t.partitions).sort(),
    );
    expect(committed.reduce((sum, b) => sum + b.recordTimestampsMs.length, 0)).toBe(records.length);
    expect(committed.reduce((sum, b) => sum + b.result.written, 0)).toBe(records.length);
    expect(await counterValue(ingested, "ingestor_batches_fetched_ahead_total")).toBe(0);
    expect(await counterValue(ingested, "ingestor_offset_gaps_total")).toBe(0);
  });

  it("stays exact when the process is SIGKILLed between and inside combined transactions", {
    timeout: 240_000,
  }, async () => {
    const group = uniqueName("wh-group-commit-kill");
    const env = {
      ...SMALL_FETCH,
      // Behind on every fetch but the last: batches are left committing while the next fetch runs.
      INGESTOR_FETCH_AHEAD: "true",
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      DATABASE_URL: killDb.url,
      INGESTOR_GROUP_ID: group,
      INGESTOR_SESSION_TIMEOUT_MS: "6000",
    };
    const ends = await endOffsets(topic.kafka, topic.topic);
    const total = [...ends.values()].reduce((sum, end) => sum + BigInt(end), 0n);
    const progress = async () =>
      [...(await storedProgress(killDb.pool, group, topic.topic)).values()].reduce((sum, n) => sum + n, 0n);

    const first = spawnIngestor(env);
    children.push(first.child);
    const deadline = Date.now() + 120_000;
    while ((await progress()) * 100n < total * 20n) {
      if (first.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`ingestor made no progress:\n${first.output()}`);
      await sleep(20);
    }
    first.child.kill("SIGKILL");
    expect((await exited(first.child)).signal).toBe("SIGKILL");
    const atKill = await progress();
    expect(atKill).toBeLessThan(total);
    console.log(`[ingestor-group-commit] killed with ${atKill}/${total} records committed`);

    const second = spawnIngestor(env);
    children.push(second.child);
    await waitForIngested(killDb.pool, group, topic.topic, ends, 180_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${second.output()}`);
    });
    expect(await readGold(killDb.pool)).toEqual(expectedGold(oracle));
    expect(await bronzeByReason(killDb.pool)).toEqual(expectedBronzeByReason(oracle));
    expect((await bronzeTransactions(killDb.pool)).some((t) => t.partitions > 1)).toBe(true);
    second.child.kill("SIGTERM");
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
  });
});
