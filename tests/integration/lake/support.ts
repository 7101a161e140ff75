/**
 * Test support of the lake export: a Postgres database per test file filled from a generated stream, the Delta
 * Kernel verifier (built once with Maven into .cache/delta-verifier/), DuckDB as a second Parquet reader, Azurite,
 * and Postgres rows in the verifier's JSON encoding for comparisons.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import type { ObjectStore } from "@adpipe/lake";
import { type KafkaRecord, PartitionCache, writeBatch } from "@adpipe/warehouse";
import type pg from "pg";
import { createTestDatabase, REPO_ROOT, type TestDatabase } from "../../support/index.js";

const execFileAsync = promisify(execFile);

export type LakeTestDatabase = TestDatabase;

/** A migrated database of its own for one lake test file. */
export function createLakeDatabase(): Promise<LakeTestDatabase> {
  return createTestDatabase("lake");
}

/** Splits a generated stream over partitions by key like Kafka's producer would (offsets continue per partition). */
export function partitionRecords(
  records: readonly GeneratedRecord[],
  topic: string,
  partitions: number,
  firstOffsets: number[] = [],
): KafkaRecord[][] {
  const out: KafkaRecord[][] = Array.from({ length: partitions }, () => []);
  let roundRobin = 0;
  for (const record of records) {
    const p =
      record.key === null
        ? roundRobin++ % partitions
        : [...record.key].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7) % partitions;
    const list = out[p]!;
    list.push({
      topic,
      partition: p,
      offset: String((firstOffsets[p] ?? 0) + list.length),
      timestampMs: record.timestampMs,
      key: record.key === null ? null : Buffer.from(record.key),
      value: record.value,
    });
  }
  return out;
}

/**
 * Writes a generated stream through the warehouse's own batch writer (what the ingestor does), in batches of
 * `chunk` records per partition. Returns the next offset per partition.
 */
export async function fillWarehouse(
  pool: pg.Pool,
  options: {
    seed: number;
    events: number;
    advertisers?: number;
    topic: string;
    partitions?: number;
    startMs?: number;
    firstOffsets?: number[];
    /** Generation of the topic's log the records come from (after `adpipe offsets reset` of a new log). */
    generation?: number;
    /** Share of advertisers in hard_cap (generateStream's hardCapShare): their clicks beyond budget are over_cap. */
    hardCapShare?: number;
  },
): Promise<number[]> {
  const partitions = options.partitions ?? 3;
  const records = [
    ...generateStream({
      seed: options.seed,
      events: options.events,
      advertisers: options.advertisers ?? 15,
      ...(options.startMs === undefined ? {} : { startMs: options.startMs }),
      ...(options.hardCapShare === undefined ? {} : { hardCapShare: options.hardCapShare }),
    }),
  ];
  const split = partitionRecords(records, options.topic, partitions, options.firstOffsets);
  // Day partitions are known per database: the writer's shared cache would skip them in a second database.
  const known = { partitions: new PartitionCache() };
  const client = await pool.connect();
  try {
    for (const list of split) {
      for (let i = 0; i < list.length; i += 2_000) {
        await writeBatch(
          client,
          { pipeline: "lake-test", records: list.slice(i, i + 2_000), generation: options.generation ?? 0 },
          known,
        );
      }
    }
  } finally {
    client.release();
  }
  return split.map((list, p) => (options.firstOffsets?.[p] ?? 0) + list.length);
}

// ---------------------------------------------------------------------------------------------------------------
// Delta Kernel verifier (Java, Maven)

const VERIFIER_SOURCE = join(REPO_ROOT, "tests/tools/delta-kernel-verifier");
const VERIFIER_BUILD = join(REPO_ROOT, ".cache/delta-verifier");
const VERIFIER_JAR = join(VERIFIER_BUILD, "delta-kernel-verifier.jar");

function commandExists(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/**
 * The Delta Kernel verifier needs a JDK, and Maven to build it (the same prerequisites as the local Kafka
 * broker). Without them the lake tests fail here, saying what is missing, instead of skipping: a run that
 * cannot check the lake must not pass.
 */
export function requireVerifierPrerequisites(): void {
  const missing = [
    ...(commandExists("java", ["-version"]) ? [] : ["a JDK (java 17+)"]),
    ...(commandExists("mvn", ["-v"]) || existsSync(VERIFIER_JAR) ? [] : ["Maven (mvn)"]),
  ];
  if (missing.length > 0) {
    throw new Error(
      `tests/integration/lake need the Delta Kernel verifier (tests/tools/delta-kernel-verifier), which needs ${missing.join(" and ")} on PATH. ` +
        "Install them (Debian/Ubuntu: apt-get install -y openjdk-17-jdk-headless maven; see docs/infra.md#prerequisites) and run again.",
    );
  }
}

function newestSource(): number {
  const files = [
    join(VERIFIER_SOURCE, "pom.xml"),
    join(VERIFIER_SOURCE, "src/main/java/adpipe/verifier/DeltaKernelVerifier.java"),
    join(VERIFIER_SOURCE, "src/main/java/adpipe/verifier/ParquetFooterCheck.java"),
  ];
  return Math.max(...files.map((file) => statSync(file).mtimeMs));
}

/**
 * Builds the verifier once per checkout (`mvn -q -B package` into .cache/delta-verifier, Maven Central for the
 * dependencies) and again only when its sources change. Test files run in parallel: a lock directory makes the
 * others wait for the one building.
 */
export async function ensureVerifier(): Promise<string> {
  const lock = join(REPO_ROOT, ".cache/delta-verifier.lock");
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (existsSync(VERIFIER_JAR) && statSync(VERIFIER_JAR).mtimeMs >= newestSource()) return VERIFIER_JAR;
    try {
      mkdirSync(lock);
    } catch {
      // Another file builds it; a lock older than 15 minutes is a leftover of a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 900_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for the verifier build");
      await sleep(1_000);
      continue;
    }
    try {
      if (existsSync(VERIFIER_JAR) && statSync(VERIFIER_JAR).mtimeMs >= newestSource()) return VERIFIER_JAR;
      await execFileAsync(
        "mvn",
        [
          "-q",
          "-B",
          "-f",
          join(VERIFIER_SOURCE, "pom.xml"),
          `-Dverifier.buildDir=${VERIFIER_BUILD}`,
          "package",
        ],
        { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      );
      return VERIFIER_JAR;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface KernelView {
  readonly version: number;
  readonly schema: { name: string; type: string; nullable: boolean }[];
  readonly partitionColumns: string[];
  readonly files: number;
  readonly rowCount: number;
  readonly rows: Record<string, unknown>[];
}

/**
 * Opens a table with Delta Kernel and returns what it sees. The JVM runs in a non-UTC time zone on purpose:
 * timestamps and timestamp partition values must not depend on the reader's zone.
 */
export async function readWithKernel(tablePath: string): Promise<KernelView> {
  const jar = await ensureVerifier();
  const dir = await mkdtemp(join(tmpdir(), "adpipe-kernel-"));
  try {
    const rowsFile = join(dir, "rows.jsonl");
    const { stdout } = await execFileAsync(
      "java",
      ["-Duser.timezone=America/New_York", "-Xmx1g", "-jar", jar, tablePath, "--rows", rowsFile],
      { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
    );
    const summary = JSON.parse(stdout.trim()) as Omit<KernelView, "rows">;
    const text = readFileSync(rowsFile, "utf8");
    const rows = text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { ...summary, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What parquet-mr (the Parquet reader of Spark and Hive) makes of a file's footer. */
export interface ParquetMrFooter {
  readonly file: string;
  readonly createdBy: string | null;
  readonly parsed: { application: string; version: string | null; build: string | null } | null;
  readonly semver: boolean;
  /** CorruptStatistics.shouldIgnoreStatistics(createdBy, BINARY): true = PARQUET-251, min/max dropped. */
  readonly ignoresBinaryStatistics: boolean;
  /** Binary columns of the first row group, as parquet-mr's footer conversion leaves their statistics. */
  readonly binaryColumns: { column: string; statisticsEmpty: boolean; hasNonNull: boolean }[];
}

/** Reads Parquet footers with parquet-mr (the verifier's ParquetFooterCheck). */
export async function readFootersWithParquetMr(files: readonly string[]): Promise<ParquetMrFooter[]> {
  const jar = await ensureVerifier();
  const { stdout } = await execFileAsync(
    "java",
    ["-Xmx512m", "-cp", jar, "adpipe.verifier.ParquetFooterCheck", ...files],
    { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
  );
  return JSON.parse(stdout.trim()) as ParquetMrFooter[];
}

// ---------------------------------------------------------------------------------------------------------------
// Postgres rows in the verifier's encoding

const TS = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const B64 = (column: string) => `replace(encode(${column}, 'base64'), E'\\n', '')`;

/** Each exported table's rows as the verifier prints them (long as text, decimal as text, timestamp ISO µs). */
const PG_ROWS: Record<"bronze" | "silver" | "gold", string> = {
  bronze: `
    SELECT json_build_object(
      'event_type', event_type, 'click_id', click_id, 'advertiser', advertiser, 'advertiser_id', advertiser_id,
      'ad_id', ad_id, 'amount', amount::text, 'budget_value', budget_value::text, 'timestamp', ${TS('"timestamp"')},
      'topic', topic, 'partition', "partition", 'offset', "offset"::text, 'kafka_timestamp', ${TS("kafka_timestamp")},
      'record_key', ${B64("record_key")}, 'raw_payload', ${B64("raw_payload")}, 'payload_bytes', payload_bytes,
      'payload_truncated', payload_truncated, 'parse_status', parse_status, 'rejection_reason', rejection_reason,
      'rejection_detail', rejection_detail, 'ingested_at', ${TS("ingested_at")},
      'kafka_date', to_char(kafka_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
      'topic_generation', topic_generation) AS row
    FROM bronze.ad_click_events_raw ORDER BY topic, "partition", topic_generation, "offset"`,
  silver: `
    SELECT json_build_object(
      'event_type', event_type, 'click_id', click_id, 'advertiser', advertiser, 'advertiser_id', advertiser_id,
      'ad_id', ad_id, 'amount', amount::text, 'budget_value', budget_value::text, 'timestamp', ${TS('"timestamp"')},
      'is_valid', is_valid, 'processed_at', ${TS("processed_at")}, 'ingest_year', ingest_year,
      'ingest_month', ingest_month, 'ingest_day', ingest_day, 'ingest_hour', ingest_hour,
      'error_codes', to_json(error_codes), 'warnings', to_json(warnings),
      'gold_window_start', ${TS("gold_window_start")}, 'contrib_gross_micros', contrib_gross_micros::text,
      'contrib_net_micros', contrib_net_micros::text, 'contrib_records', contrib_records,
      'contrib_valid_clicks', contrib_valid_clicks, 'contrib_invalid_clicks', contrib_invalid_clicks,
      'contrib_duplicate_clicks', contrib_duplicate_clicks, 'topic', topic, 'partition', "partition",
      'offset', "offset"::text, 'kafka_timestamp', ${TS("kafka_timestamp")},
      'topic_generation', topic_generation,
      'contrib_over_cap_micros', contrib_over_cap_micros::text) AS row
    FROM silver.ad_click_events_clean ORDER BY topic, "partition", topic_generation, "offset"`,
  gold: `
    SELECT json_build_object(
      'advertiser', advertiser, 'advertiser_id', advertiser_id, 'gross_spend', gross_spend::text,
      'net_spend', net_spend::text, 'record_count', record_count::text, 'budget_value', budget_value::text,
      'can_serve', can_serve, 'window_start', ${TS("window_start")}, 'window_end', ${TS("window_end")},
      'spend_hour', ${TS("spend_hour")}, 'spend_day', ${TS("spend_day")}, 'spend_month', ${TS("spend_month")},
      'valid_clicks', valid_clicks::text, 'invalid_clicks', invalid_clicks::text,
      'duplicate_clicks', duplicate_clicks::text, 'budget_event_time', ${TS("budget_event_time")},
      'period_net_spend', period_net_spend::text, 'serving_reason', serving_reason,
      'last_event_time', ${TS("last_event_time")}, 'updated_at', ${TS("updated_at")},
      'budget_source', budget_source, 'over_cap_spend', over_cap_spend::text,
      'local_spend_day', to_char(local_spend_day, 'YYYY-MM-DD')) AS row
    FROM gold.advertiser_spend ORDER BY advertiser_id, window_start`,
};

export async function postgresRows(
  pool: pg.Pool,
  table: "bronze" | "silver" | "gold",
): Promise<Record<string, unknown>[]> {
  const { rows } = await pool.query<{ row: Record<string, unknown> }>(PG_ROWS[table]);
  return rows.map((r) => r.row);
}

/** Rows sorted by the table's key, so Kernel's file order does not matter. */
export function sortRows(
  table: "bronze" | "silver" | "gold",
  rows: Record<string, unknown>[],
): Record<string, unknown>[] {
  const key = (row: Record<string, unknown>): string =>
    table === "gold"
      ? `${row.advertiser_id}\u0000${row.window_start}`
      : `${row.topic}\u0000${String(row.partition).padStart(6, "0")}\u0000${String(row.topic_generation ?? 0).padStart(6, "0")}\u0000${String(row.offset).padStart(20, "0")}`;
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The Delta schema the export promises for each table, as the verifier prints it. */
export async function postgresColumnCount(pool: pg.Pool, source: string): Promise<number> {
  const [schema, table] = source.split(".");
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
    [schema, table],
  );
  return Number(rows[0]?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Azurite

export interface Azurite {
  readonly port: number;
  readonly connectionString: string;
  /** The development account's blob endpoint (https:// when started with `oauth`). */
  readonly blobEndpoint: string;
  /** With `oauth`: the CA (PEM) its certificate chains to. */
  readonly caPem?: string;
  stop(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1, made with openssl in `dir`. */
async function localCertificate(dir: string): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const run = (args: string[]) => execFileAsync("openssl", args, { cwd: dir });
  await run([
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=adpipe test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run([
    "req",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ]);
  writeFileSync(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    "server.ext",
    "-out",
    "server.pem",
  ]);
  return {
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/**
 * Starts Azurite's blob service on 127.0.0.1 on a free port, storing into a temporary folder. `oauth`: over https
 * with a fresh local CA and `--oauth basic`, so it also takes Entra ID bearer tokens (it checks their issuer,
 * audience and lifetime, not their signature).
 */
export async function startAzurite(options: { oauth?: boolean } = {}): Promise<Azurite> {
  const location = await mkdtemp(join(tmpdir(), "adpipe-azurite-"));
  const port = await freePort();
  const tls = options.oauth === true ? await localCertificate(location) : undefined;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/azurite/dist/src/blob/main.js"),
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      location,
      "--silent",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--loose",
      ...(tls === undefined ? [] : ["--cert", tls.certFile, "--key", tls.keyFile, "--oauth", "basic"]),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!/successfully listen/i.test(output)) {
    if (child.exitCode !== null) throw new Error(`azurite exited: ${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`azurite did not start: ${output}`);
    }
    await sleep(100);
  }
  const scheme = tls === undefined ? "http" : "https";
  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=${scheme};AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=${scheme}://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    blobEndpoint: `${scheme}://127.0.0.1:${port}/${DEV_ACCOUNT}`,
    ...(tls === undefined ? {} : { caPem: tls.caPem }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      await rm(location, { recursive: true, force: true });
    },
  };
}

/** Copies every object under `prefix` of a store into a local folder (to read it with the verifier and DuckDB). */
export async function downloadTree(store: ObjectStore, prefix: string, target: string): Promise<number> {
  const objects = await store.list(prefix);
  for (const object of objects) {
    const bytes = await store.get(object.path);
    if (bytes === null) continue;
    const file = join(target, object.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }
  return objects.length;
}

/** Every Parquet data file under a table folder (not the _delta_log). */
export async function parquetFiles(tableDir: string): Promise<string[]> {
  const entries = await readdir(tableDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".parquet") && !e.parentPath.includes("_delta_log"))
    .map((e) => join(e.parentPath, e.name));
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
