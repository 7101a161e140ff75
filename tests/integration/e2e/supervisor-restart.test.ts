/**
 * `npm start`, Ctrl-C, `npm start` again: the supervisor runs twice in a row with its
 * own local broker (scripts/kafka.sh on free ports, with its own KAFKA_STATE_DIR), database, Redis prefix,
 * topic and groups. The broker keeps its data across the two runs, so the second run resumes where the first
 * stopped: every record of both runs is in Bronze exactly once and Gold grows by exactly the second stream.
 * A third run with --fresh starts on an empty broker: the positions stored by the earlier runs are forgotten,
 * so the new records are counted too (not skipped as replays), and Redis still agrees with Postgres.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Oracle } from "@adpipe/core/testing";
import { replayManifest, type SimulationManifest } from "@adpipe/traffic";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  deleteRedisPrefix,
  REPO_ROOT,
  testRedis,
  testServices,
  uniqueName,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { createTestDatabase, expectedGold, type TestDatabase } from "../warehouse/support.js";
import { adpipe, freePorts, processesWithTopic, type SupervisorRun, startSupervisor } from "./support.js";

/** Sums of Gold's additive columns (they add up across runs: the runs share no click_id). */
interface GoldTotals {
  rows: number;
  records: bigint;
  valid: bigint;
  invalid: bigint;
  duplicates: bigint;
  grossMicros: bigint;
  netMicros: bigint;
}

const ZERO: GoldTotals = {
  rows: 0,
  records: 0n,
  valid: 0n,
  invalid: 0n,
  duplicates: 0n,
  grossMicros: 0n,
  netMicros: 0n,
};

function add(a: GoldTotals, b: GoldTotals): GoldTotals {
  return {
    rows: a.rows + b.rows,
    records: a.records + b.records,
    valid: a.valid + b.valid,
    invalid: a.invalid + b.invalid,
    duplicates: a.duplicates + b.duplicates,
    grossMicros: a.grossMicros + b.grossMicros,
    netMicros: a.netMicros + b.netMicros,
  };
}

/** What the oracle says one run's stream adds to Gold (rows: not additive across runs, left 0). */
function oracleTotals(manifest: SimulationManifest): GoldTotals {
  const rows = expectedGold(new Oracle().observeAll([...replayManifest(manifest)])) as {
    recordCount: number;
    validClicks: number;
    invalidClicks: number;
    duplicateClicks: number;
    grossMicros: number;
    netMicros: number;
  }[];
  return rows.reduce(
    (sum, row) =>
      add(sum, {
        rows: 0,
        records: BigInt(row.recordCount),
        valid: BigInt(row.validClicks),
        invalid: BigInt(row.invalidClicks),
        duplicates: BigInt(row.duplicateClicks),
        grossMicros: BigInt(row.grossMicros),
        netMicros: BigInt(row.netMicros),
      }),
    ZERO,
  );
}

async function goldTotals(db: TestDatabase): Promise<GoldTotals> {
  const { rows } = await db.pool.query<Record<string, string>>(`
    SELECT count(*)::text AS rows, coalesce(sum(record_count), 0)::text AS records,
           coalesce(sum(valid_clicks), 0)::text AS valid, coalesce(sum(invalid_clicks), 0)::text AS invalid,
           coalesce(sum(duplicate_clicks), 0)::text AS duplicates,
           coalesce(sum(gross_spend) * 1000000, 0)::bigint::text AS gross,
           coalesce(sum(net_spend) * 1000000, 0)::bigint::text AS net
    FROM gold.advertiser_spend`);
  const r = rows[0] ?? {};
  return {
    rows: Number(r.rows),
    records: BigInt(r.records ?? 0),
    valid: BigInt(r.valid ?? 0),
    invalid: BigInt(r.invalid ?? 0),
    duplicates: BigInt(r.duplicates ?? 0),
    grossMicros: BigInt(r.gross ?? 0),
    netMicros: BigInt(r.net ?? 0),
  };
}

const withoutRows = (t: GoldTotals) => ({ ...t, rows: 0 });

async function bronzeCount(db: TestDatabase): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw",
  );
  return Number(rows[0]?.n);
}

const EVENTS = [500, 400, 300] as const;

let workdir: string;
let stateDir: string;
let database: TestDatabase;
let redis: Redis;
let current: SupervisorRun | undefined;
const topic = uniqueName("e2e-restart");
const prefix = uniqueRedisPrefix("e2e-restart");
const group = uniqueName("e2e-restart");
let brokerEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "adpipe-e2e-restart-"));
  stateDir = join(workdir, "kafka");
  const brokerBase = await freePorts(3);
  brokerEnv = {
    KAFKA_STATE_DIR: stateDir,
    KAFKA_PLAINTEXT_PORT: String(brokerBase),
    KAFKA_SASL_PORT: String(brokerBase + 1),
    KAFKA_CONTROLLER_PORT: String(brokerBase + 2),
  };
  database = await createTestDatabase("e2e_restart", { migrate: false });
  redis = testRedis();
}, 60_000);

afterAll(async () => {
  if (current !== undefined && current.child.exitCode === null) {
    current.child.kill("SIGKILL");
    for (const pid of processesWithTopic(topic)) process.kill(pid, "SIGKILL");
  }
  // The private broker, if a failed run left it, and its data.
  if (brokerEnv !== undefined) {
    spawnSync("bash", [join(REPO_ROOT, "scripts/kafka.sh"), "reset"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...brokerEnv },
      stdio: "ignore",
      timeout: 60_000,
    });
  }
  await database?.drop();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
  if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
}, 120_000);

/** One `npm start`: runs until its simulator sent `events`, Gold and Redis caught up; then Ctrl-C. */
async function runOnce(
  index: number,
  extraArgs: string[],
): Promise<{ manifest: SimulationManifest; output: string[] }> {
  const apiPort = await freePorts(1);
  const opsBase = await freePorts(4);
  const manifestPath = join(workdir, `manifest-${index}.json`);
  const statePath = join(workdir, `state-${index}.json`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...brokerEnv,
    DATABASE_URL: database.url,
    REDIS_URL: testServices().redisUrl,
    LOG_LEVEL: "warn",
  };
  // The supervisor must find (and start) its local broker on the private ports, not the shared one.
  delete env.KAFKA_BROKERS;
  delete env.EVENT_HUB_CONNECTION_STRING;
  const run = startSupervisor(
    [
      "--topic",
      topic,
      "--partitions",
      "3",
      "--rate",
      "400",
      "--sim-count",
      String(EVENTS[index]),
      "--sim-seed",
      String(20_261_200 + index),
      "--sim-run-id",
      `${group}-r${index}`,
      "--sim-manifest",
      manifestPath,
      "--sim-advertisers",
      "15",
      "--api-port",
      String(apiPort),
      "--ops-port-base",
      String(opsBase),
      "--group-prefix",
      group,
      "--redis-prefix",
      prefix,
      "--state-file",
      statePath,
      "--ready-timeout",
      "150",
      ...extraArgs,
    ],
    env,
  );
  current = run;
  await run.waitFor("the pipeline to be ready", 300_000, async () =>
    existsSync(statePath) ? true : undefined,
  );
  const manifest = await run.waitFor("the simulator to finish", 120_000, async () =>
    existsSync(manifestPath)
      ? (JSON.parse(await readFile(manifestPath, "utf8")) as SimulationManifest)
      : undefined,
  );
  expect(manifest.sent).toBe(EVENTS[index]);
  // The tracker has applied everything when Redis agrees with Postgres (adpipe reconcile exits 0) and both
  // groups are caught up.
  const cliEnv = {
    ...env,
    KAFKA_BROKERS: `127.0.0.1:${brokerEnv.KAFKA_PLAINTEXT_PORT}`,
    KAFKA_TOPIC: topic,
    REDIS_KEY_PREFIX: prefix,
    WAREHOUSE_PIPELINE: `${group}-ingestor`,
    INGESTOR_GROUP_ID: `${group}-ingestor`,
    TRACKER_GROUP_ID: `${group}-budget-tracker`,
  };
  const expectedBronze = EVENTS.slice(0, index + 1).reduce((sum, n) => sum + n, 0);
  await run.waitFor(`Bronze to hold ${expectedBronze} records`, 120_000, async () =>
    (await bronzeCount(database)) === expectedBronze ? true : undefined,
  );
  await run.waitFor("both groups caught up and Redis = Postgres", 120_000, async () => {
    const status = adpipe(["status", "--json"], cliEnv);
    if (status.status !== 0) return undefined;
    const report = JSON.parse(status.output) as { kafka: { groups: { totalLag: string }[] } };
    if (!report.kafka.groups.every((g) => g.totalLag === "0")) return undefined;
    return adpipe(["reconcile"], cliEnv).status === 0 ? true : undefined;
  });
  const code = await run.stop();
  expect(code, run.output.slice(-30).join("\n")).toBe(0);
  expect(processesWithTopic(topic)).toEqual([]);
  return { manifest, output: run.output };
}

describe("npm start twice in a row (private local broker)", () => {
  test("the second run resumes on the kept broker data and Gold grows by exactly its stream; --fresh starts over without losing new records", async () => {
    // Run 1: a fresh broker, a new topic.
    const first = await runOnce(0, []);
    const line = (output: string[], text: string) => output.some((l) => l.includes(text));
    expect(line(first.output, "fresh broker: formatting new KRaft storage")).toBe(true);
    expect(line(first.output, `created topic ${topic} with 3 partitions on the local broker`)).toBe(true);
    expect(line(first.output, "stopping the Kafka broker it started")).toBe(true);
    const afterFirst = await goldTotals(database);
    const want1 = oracleTotals(first.manifest);
    expect(withoutRows(afterFirst)).toEqual(want1);
    expect(afterFirst.valid).toBeGreaterThan(0n);

    // Run 2: the same command again. The broker comes back with its data; nothing is skipped as a replay.
    const second = await runOnce(1, []);
    expect(line(second.output, "reusing broker data from the previous run")).toBe(true);
    expect(line(second.output, `topic ${topic} exists with 3 partitions (${EVENTS[0]} records kept`)).toBe(
      true,
    );
    const afterSecond = await goldTotals(database);
    const want2 = oracleTotals(second.manifest);
    expect(withoutRows(afterSecond)).toEqual(add(want1, want2));
    expect(afterSecond.valid).toBeGreaterThan(afterFirst.valid);
    expect(afterSecond.grossMicros).toBeGreaterThan(afterFirst.grossMicros);
    expect(await bronzeCount(database)).toBe(EVENTS[0] + EVENTS[1]);

    // Run 3: --fresh deletes the broker's data; the positions of runs 1-2 are forgotten, not left to make
    // the new topic's records look like replays.
    const third = await runOnce(2, ["--fresh"]);
    expect(line(third.output, "--fresh: deleting the local broker's data")).toBe(true);
    expect(line(third.output, "fresh broker: formatting new KRaft storage")).toBe(true);
    expect(line(third.output, "forgot the positions an earlier run stored")).toBe(true);
    const afterThird = await goldTotals(database);
    expect(withoutRows(afterThird)).toEqual(add(add(want1, want2), oracleTotals(third.manifest)));
    expect(await bronzeCount(database)).toBe(EVENTS[0] + EVENTS[1] + EVENTS[2]);
  }, 900_000);
});
