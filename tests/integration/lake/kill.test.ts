import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildProgram, EXIT, runProgram } from "@adpipe/cli";
import {
  DeltaLakeSink,
  EXPORT_TABLES,
  type ExportTableKey,
  LocalObjectStore,
  streamToken,
} from "@adpipe/lake";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerExport } from "../../../packages/cli/src/commands/export.js";
import { REPO_ROOT } from "../../support/index.js";
import {
  createLakeDatabase,
  fillWarehouse,
  type LakeTestDatabase,
  postgresRows,
  readWithKernel,
  requireVerifierPrerequisites,
  sortRows,
  tempDir,
} from "./support.js";

const TOPIC = "lake-kill";
const TABLES: readonly ExportTableKey[] = ["bronze", "silver", "gold"];
requireVerifierPrerequisites();

interface Exporter {
  readonly child: ChildProcess;
  output(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnExporter(env: Record<string, string>): Exporter {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/delta-exporter/src/main.ts"],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited: () => exited };
}

function commitCount(logDir: string): number {
  try {
    return readdirSync(logDir).filter((name) => /^\d{20}\.json$/.test(name)).length;
  } catch {
    return 0;
  }
}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("exporter killed (SIGKILL) mid-run and mid-commit: no row lost or duplicated", () => {
  let db: LakeTestDatabase;
  let lakeDir: string;
  const running: Exporter[] = [];

  beforeAll(async () => {
    [db, lakeDir] = await Promise.all([createLakeDatabase(), tempDir("adpipe-lake-kill-")]);
    await fillWarehouse(db.pool, { seed: 9009, events: 6_000, topic: TOPIC, partitions: 4 });
  }, 300_000);
  afterAll(async () => {
    for (const exporter of running) if (exporter.child.exitCode === null) exporter.child.kill("SIGKILL");
    await db?.drop();
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  const env = () => ({
    DATABASE_URL: db.url,
    LAKE_STORAGE: "local",
    LAKE_PATH: lakeDir,
    LAKE_EXPORT_BATCH_ROWS: "250",
    LAKE_CHECKPOINT_INTERVAL: "4",
    DELTA_EXPORT_MODE: "once",
    MIGRATE_ON_START: "false",
    OPS_PORT: "0",
    OPS_HOST: "127.0.0.1",
    LOG_LEVEL: "info",
  });
  const bronzeLog = () => join(lakeDir, EXPORT_TABLES.bronze.spec.path, "_delta_log");

  /** A Bronze partition whose progress Postgres and the Delta log agree on, with rows left to export. */
  async function partitionInSyncWithRowsLeft(): Promise<
    { partition: number; next_offset: string } | undefined
  > {
    const bronze = new DeltaLakeSink(new LocalObjectStore(lakeDir)).table(EXPORT_TABLES.bronze.spec);
    const tokens = await bronze.tokens();
    const { rows: recorded } = await db.pool.query<{ partition: number; next_offset: string }>(
      "SELECT \"partition\", next_offset::text FROM ingest.lake_export_offsets WHERE table_name = 'bronze' AND topic = $1",
      [TOPIC],
    );
    const { rows: ends } = await db.pool.query<{ partition: number; end_offset: string }>(
      'SELECT "partition", next_offset::text AS end_offset FROM ingest.consumer_offsets WHERE topic = $1',
      [TOPIC],
    );
    return recorded.find((row) => {
      const end = Number(ends.find((e) => e.partition === row.partition)?.end_offset ?? 0);
      return (
        tokens.get(streamToken(TOPIC, row.partition)) === Number(row.next_offset) &&
        Number(row.next_offset) < end
      );
    });
  }

  it("kills the exporter after a few commits, then between a Delta commit and its Postgres record, and the rerun is exact", {
    timeout: 300_000,
  }, async () => {
    // 1. Kills at arbitrary points of a run (data files, commit or record in flight) until one leaves what step
    //    2 needs: a partition in sync (Delta and Postgres agree) with rows still to export. Pages go one
    //    partition at a time, so a kill inside a commit-to-record window, or just as a partition finished,
    //    leaves none; the next run recovers and goes on. Step 3's rerun checks the outcome of every kill.
    let target: { partition: number; next_offset: string } | undefined;
    for (let kill = 1; kill <= 5 && target === undefined; kill++) {
      const before = commitCount(bronzeLog());
      const exporter = spawnExporter(env());
      running.push(exporter);
      await waitFor("Bronze commits", () => commitCount(bronzeLog()) >= Math.max(4, before + 1));
      exporter.child.kill("SIGKILL");
      expect((await exporter.exited()).signal).toBe("SIGKILL");
      target = await partitionInSyncWithRowsLeft();
    }
    expect(target, "a partition in sync with rows left").toBeDefined();

    // 2. A kill exactly after a Delta commit and before its progress reaches Postgres: hold a row lock on the
    //    progress row of that partition; the exporter commits to Delta, then blocks recording it; kill it there.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    const versionBefore = commitCount(bronzeLog());
    let second: Exporter;
    try {
      await locker.query("BEGIN");
      await locker.query(
        "SELECT 1 FROM ingest.lake_export_offsets WHERE table_name = 'bronze' AND topic = $1 AND \"partition\" = $2 FOR UPDATE",
        [TOPIC, target!.partition],
      );
      second = spawnExporter(env());
      running.push(second);
      await waitFor("the exporter blocked recording its progress", async () => {
        const { rows } = await db.pool.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'adpipe-delta-exporter' AND wait_event_type = 'Lock'",
          [db.name],
        );
        return Number(rows[0]?.n) > 0;
      });
      second.child.kill("SIGKILL");
      expect((await second.exited()).signal).toBe("SIGKILL");
      // Postgres does not notice a vanished client while a statement waits on a lock: it would finish the
      // blocked statement once the lock is released. Terminate the dead process's sessions first, as a crashed
      // host's connections would be.
      await db.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'adpipe-delta-exporter'",
        [db.name],
      );
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
    }
    // The Delta log got the commit, Postgres did not: exactly the window the txn action covers.
    expect(commitCount(bronzeLog())).toBeGreaterThan(versionBefore);
    const deltaNow = (
      await new DeltaLakeSink(new LocalObjectStore(lakeDir)).table(EXPORT_TABLES.bronze.spec).tokens()
    ).get(streamToken(TOPIC, target!.partition));
    const { rows: pgNow } = await db.pool.query<{ next_offset: string }>(
      "SELECT next_offset::text FROM ingest.lake_export_offsets WHERE table_name = 'bronze' AND topic = $1 AND \"partition\" = $2",
      [TOPIC, target!.partition],
    );
    expect(deltaNow).toBeGreaterThan(Number(pgNow[0]?.next_offset));

    // 3. The rerun (through `adpipe export`) repairs the progress from the Delta log and finishes the export.
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LAKE_STORAGE: "local",
      LAKE_PATH: lakeDir,
      LAKE_EXPORT_BATCH_ROWS: "1000",
    });
    const logs: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logs.push(args.join(" "));
    let code: number;
    try {
      code = await runProgram(buildProgram([registerExport]), ["node", "adpipe", "export", "--json"]);
    } finally {
      console.log = log;
      process.env = saved;
    }
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(logs.join("\n")) as {
      tables: { table: string; recovered: number; caughtUp: boolean }[];
    };
    expect(report.tables.find((t) => t.table === "bronze")?.recovered).toBeGreaterThanOrEqual(1);
    expect(report.tables.every((t) => t.caughtUp)).toBe(true);

    for (const key of TABLES) {
      const kernel = await readWithKernel(join(lakeDir, EXPORT_TABLES[key].spec.path));
      const expected = await postgresRows(db.pool, key);
      expect(kernel.rowCount, `${key} row count`).toBe(expected.length);
      expect(sortRows(key, kernel.rows)).toEqual(sortRows(key, expected));
    }
    // Postgres progress equals the Delta log's for every partition.
    const final = await new DeltaLakeSink(new LocalObjectStore(lakeDir))
      .table(EXPORT_TABLES.silver.spec)
      .tokens();
    const { rows: silverProgress } = await db.pool.query<{ partition: number; next_offset: string }>(
      "SELECT \"partition\", next_offset::text FROM ingest.lake_export_offsets WHERE table_name = 'silver' AND topic = $1",
      [TOPIC],
    );
    for (const row of silverProgress)
      expect(final.get(streamToken(TOPIC, row.partition))).toBe(Number(row.next_offset));
  });
});
