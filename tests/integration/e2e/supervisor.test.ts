/**
 * The one-command pipeline end to end: the supervisor (what `npm start` runs) headless, with its own topic,
 * database, consumer groups, Redis prefix and ports. Its simulator sends a generated stream; Gold in Postgres
 * and every advertiser's hash in Redis must equal the oracle for exactly that stream (replayed from the
 * simulator's manifest). Then SIGTERM: the supervisor must exit 0 and leave no process behind.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { Oracle } from "@adpipe/core/testing";
import { createKafka, deleteTopic } from "@adpipe/kafka";
import { SpendStore } from "@adpipe/spend-store";
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
import { processAlive } from "../../support/processes.js";
import { diffAgainstOracle } from "../realtime/support/oracle-compare.js";
import { createTestDatabase, expectedGold, readGold, type TestDatabase } from "../warehouse/support.js";

const EVENTS = 1_500;

/** The part of `adpipe status --json` this test reads. */
interface StatusJson {
  kafka: { partitions: number; groups: { group: string; source: string; totalLag: string }[] };
  warehouse: { bronze: number; gold: number; goldFreshnessSeconds: number | null };
}
const SEED = 20_261_125;

let workdir: string;
let database: TestDatabase;
let redis: Redis;
let supervisor: ChildProcess | undefined;
let exited: Promise<number | null>;
const output: string[] = [];
const topic = uniqueName("e2e-supervisor");
const prefix = uniqueRedisPrefix("e2e");

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free consecutive ports after it (ops ports are base, base+1, base+2). */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux' ephemeral range (32768-60999): an outbound connection of a parallel test never takes a port
    // between this check and the service binding it (an alerter once failed with EADDRINUSE that way).
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free ports");
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (supervisor?.exitCode !== null && supervisor?.exitCode !== undefined) {
      throw new Error(
        `the supervisor exited (${supervisor.exitCode}) while waiting for ${what}:\n${output.slice(-40).join("\n")}`,
      );
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(500);
  }
  throw new Error(
    `timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ""}:\n${output.slice(-40).join("\n")}`,
  );
}

/** Processes whose environment carries this test's topic: the supervisor's children carry KAFKA_TOPIC. */
function processesOfThisRun(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.split("\0").includes(`KAFKA_TOPIC=${topic}`)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "adpipe-e2e-"));
  database = await createTestDatabase("e2e", { migrate: false });
  redis = testRedis();
}, 60_000);

afterAll(async () => {
  if (supervisor !== undefined && supervisor.exitCode === null) {
    supervisor.kill("SIGKILL");
    for (const pid of processesOfThisRun()) process.kill(pid, "SIGKILL");
  }
  await database?.drop();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
  const kafka = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: testServices().kafkaBrokers.join(",") }));
  for (const name of [topic, `${topic}-alerts`]) await deleteTopic(kafka, name).catch(() => undefined);
  if (workdir !== undefined) await rm(workdir, { recursive: true, force: true });
}, 120_000);

describe("npm start's supervisor, headless", () => {
  test("runs the pipeline, Gold and Redis match the oracle for the simulator's stream, and SIGTERM leaves nothing behind", async () => {
    const infra = testServices();
    const apiPort = await freePorts(1);
    const opsBase = await freePorts(4);
    const manifestPath = join(workdir, "manifest.json");
    const statePath = join(workdir, "state.json");
    const group = uniqueName("e2e");

    const entry = join(REPO_ROOT, "services/supervisor/src/main.ts");
    supervisor = spawn(
      process.execPath,
      [
        "--conditions",
        "source",
        "--import",
        "tsx",
        entry,
        "--headless",
        "--mode",
        "source",
        "--no-start-broker",
        "--topic",
        topic,
        "--partitions",
        "3",
        "--rate",
        "500",
        "--sim-count",
        String(EVENTS),
        "--sim-seed",
        String(SEED),
        "--sim-run-id",
        group,
        "--sim-manifest",
        manifestPath,
        "--sim-advertisers",
        "25",
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
        "120",
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          KAFKA_BROKERS: infra.kafkaBrokers.join(","),
          DATABASE_URL: database.url,
          REDIS_URL: infra.redisUrl,
          // The alerter's topic of this run, not the shared broker's ad-budget-alerts.
          ALERT_TOPIC: `${topic}-alerts`,
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    for (const stream of [supervisor.stdout, supervisor.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => output.push(...chunk.split("\n").filter((line) => line !== "")));
    }
    exited = new Promise((resolve) => supervisor?.once("exit", (code) => resolve(code)));

    // Ready: the state file names every process it started.
    const state = await waitFor("the pipeline to be ready", 240_000, async () =>
      existsSync(statePath)
        ? (JSON.parse(await readFile(statePath, "utf8")) as {
            children: { name: string; pid: number }[];
            dashboardUrl: string;
            readToken: string;
          })
        : undefined,
    );
    expect(state.children.map((child) => child.name).sort()).toEqual([
      "alerter",
      "api",
      "budget-tracker",
      "ingestor",
      "simulator",
    ]);
    const health = await fetch(`${state.dashboardUrl}healthz`);
    expect(health.status).toBe(200);

    // The simulator writes its manifest when it has sent every event.
    const manifest = await waitFor("the simulator to finish", 120_000, async () =>
      existsSync(manifestPath)
        ? (JSON.parse(await readFile(manifestPath, "utf8")) as SimulationManifest)
        : undefined,
    );
    expect(manifest.sent).toBe(EVENTS);
    expect(manifest.topic).toBe(topic);
    const records = [...replayManifest(manifest)];
    const oracle = new Oracle().observeAll(records);
    const wantGold = expectedGold(oracle);
    expect(wantGold.length).toBeGreaterThan(10);
    expect(records.filter((record) => record.kind === "duplicate").length).toBeGreaterThan(0);
    expect(records.filter((record) => record.kind === "malformed").length).toBeGreaterThan(0);

    // Gold catches up with the oracle to the micro-unit.
    const store = new SpendStore({ redis, topic, prefix });
    let goldDiff: unknown;
    await waitFor("Gold to equal the oracle", 120_000, async () => {
      const gold = await readGold(database.pool);
      goldDiff = { rows: gold.length, expected: wantGold.length };
      return JSON.stringify(gold) === JSON.stringify(wantGold) ? true : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nlast: ${JSON.stringify(goldDiff)}`);
    });
    expect(await readGold(database.pool)).toEqual(wantGold);
    const bronze = await database.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw",
    );
    expect(Number(bronze.rows[0]?.n)).toBe(EVENTS);

    // Redis: every advertiser's period state equals the oracle's (polled: the tracker may still be applying).
    let redisDiff: string[] = [];
    await waitFor("Redis to equal the oracle", 60_000, async () => {
      redisDiff = diffAgainstOracle(await store.readStates(), oracle.servingStateAt(Date.now()));
      return redisDiff.length === 0 ? true : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${redisDiff.slice(0, 10).join("\n")}`);
    });
    expect(diffAgainstOracle(await store.readStates(), oracle.servingStateAt(Date.now()))).toEqual([]);

    // The API serves what the tracker wrote.
    const someone = oracle.servingStateAt(Date.now()).find((entry) => entry.clicks > 0);
    expect(someone).toBeDefined();
    // Reads need a token: npm start generated one for the run (in the state file, mode 0600).
    expect(state.readToken).toMatch(/^local-read-[0-9a-f]{24}$/);
    expect(
      (
        await fetch(
          `${state.dashboardUrl}v1/advertisers/${encodeURIComponent(someone?.advertiserId ?? "")}/serving`,
        )
      ).status,
    ).toBe(401);
    const serving = await fetch(
      `${state.dashboardUrl}v1/advertisers/${encodeURIComponent(someone?.advertiserId ?? "")}/serving`,
      { headers: { authorization: `Bearer ${state.readToken}` } },
    );
    expect(serving.status).toBe(200);
    expect(await serving.json()).toMatchObject({ can_serve: someone?.canServe });

    // `adpipe status` sees both groups caught up, the rows of every layer and a Gold freshness.
    const statusEnv = {
      ...process.env,
      KAFKA_BROKERS: infra.kafkaBrokers.join(","),
      KAFKA_TOPIC: topic,
      DATABASE_URL: database.url,
      INGESTOR_GROUP_ID: `${group}-ingestor`,
      TRACKER_GROUP_ID: `${group}-budget-tracker`,
    };
    const report = await waitFor("adpipe status to show no lag", 60_000, async () => {
      const result = spawnSync(
        process.execPath,
        [
          "--conditions",
          "source",
          "--import",
          "tsx",
          join(REPO_ROOT, "packages/cli/src/main.ts"),
          "status",
          "--json",
        ],
        {
          cwd: REPO_ROOT,
          env: statusEnv,
          encoding: "utf8",
        },
      );
      if (result.status !== 0)
        throw new Error(`adpipe status exited ${result.status}: ${result.stdout}${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as StatusJson;
      return parsed.kafka.groups.every((entry) => entry.totalLag === "0") ? parsed : undefined;
    });
    expect(report.kafka.groups.map((entry) => [entry.group, entry.source])).toEqual([
      [`${group}-ingestor`, "postgres"],
      [`${group}-budget-tracker`, "kafka"],
    ]);
    expect(report.kafka.partitions).toBe(3);
    expect(report.warehouse.bronze).toBe(EVENTS);
    expect(report.warehouse.gold).toBe(wantGold.length);
    expect(report.warehouse.goldFreshnessSeconds).not.toBeNull();

    // Ctrl-C (SIGTERM here): clean exit, nothing left running.
    const pids = [supervisor.pid, ...state.children.map((child) => child.pid)].filter(
      (pid): pid is number => pid !== undefined,
    );
    // The simulator has ended by itself after its --count; the services keep running until the signal.
    const services = state.children.filter((child) => child.name !== "simulator").map((child) => child.pid);
    expect([supervisor.pid, ...services].every((pid) => pid !== undefined && processAlive(pid))).toBe(true);
    supervisor.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(90_000).then(() => "timeout" as const)]);
    expect(code, output.slice(-30).join("\n")).toBe(0);
    await sleep(200);
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);
    expect(processesOfThisRun()).toEqual([]);
    expect(output.some((line) => line.includes("[supervisor]") && line.includes("stopped"))).toBe(true);
  }, 480_000);
});
