import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  DeltaExporter,
  DeltaLakeSink,
  EXPORT_TABLES,
  type ExportTableKey,
  LAKE_VERSION,
  LocalObjectStore,
  parquetCreatedBy,
  typeName,
} from "@adpipe/lake";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import * as parquet from "parquet-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLakeDatabase,
  fillWarehouse,
  type LakeTestDatabase,
  parquetFiles,
  postgresColumnCount,
  postgresRows,
  readFootersWithParquetMr,
  readWithKernel,
  requireVerifierPrerequisites,
  sortRows,
  tempDir,
} from "./support.js";

const TOPIC = "lake-local";
const TABLES: readonly ExportTableKey[] = ["bronze", "silver", "gold"];
requireVerifierPrerequisites();

/** Kernel's view of a table equals Postgres: schema, partitioning, row count, every value. */
async function expectTableEqualsPostgres(
  db: LakeTestDatabase,
  lakeDir: string,
  key: ExportTableKey,
): Promise<number> {
  const table = EXPORT_TABLES[key];
  const kernel = await readWithKernel(join(lakeDir, table.spec.path));
  expect(kernel.schema).toEqual(
    table.spec.columns.map((c) => ({ name: c.name, type: typeName(c.type), nullable: c.nullable })),
  );
  // Every Postgres column is exported (Bronze adds its partition column kafka_date).
  expect(kernel.schema.length).toBe(
    (await postgresColumnCount(db.pool, table.source)) + (key === "bronze" ? 1 : 0),
  );
  expect(kernel.partitionColumns).toEqual([...table.spec.partitionColumns]);
  const expected = await postgresRows(db.pool, key);
  expect(kernel.rowCount).toBe(expected.length);
  expect(sortRows(key, kernel.rows)).toEqual(expected.length === 0 ? [] : sortRows(key, expected));
  return kernel.version;
}

describe("Delta export to local disk, read back with Delta Kernel", () => {
  let db: LakeTestDatabase;
  let lakeDir: string;
  let offsets: number[];

  beforeAll(async () => {
    [db, lakeDir] = await Promise.all([createLakeDatabase(), tempDir("adpipe-lake-local-")]);
    // Some advertisers in hard_cap, so Silver and Gold hold over_cap amounts (migration 0014) to export.
    offsets = await fillWarehouse(db.pool, { seed: 7007, events: 5_000, topic: TOPIC, hardCapShare: 0.5 });
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  const exporter = (batchRows: number) =>
    new DeltaExporter({
      pool: db.pool,
      sink: new DeltaLakeSink(new LocalObjectStore(lakeDir), { checkpointInterval: 3 }),
      batchRows,
    });

  it("exports Bronze, Silver and Gold; Kernel reads the same rows, schema and partitions as Postgres", {
    timeout: 300_000,
  }, async () => {
    const started = Date.now();
    const reports = await exporter(1_200).exportTables(TABLES);
    const exportMs = Date.now() - started;
    for (const report of reports) {
      expect(report.caughtUp).toBe(true);
      expect(report.superseded).toBe(0);
    }
    const byTable = Object.fromEntries(reports.map((r) => [r.table, r]));
    // Bronze holds every record; several commits (pages of 1,200) and checkpoints every 3 versions.
    expect(byTable.bronze?.rows).toBe(offsets.reduce((a, b) => a + b, 0));
    expect(byTable.bronze?.commits).toBeGreaterThan(3);
    expect(byTable.bronze?.lagRecords).toBe(0);
    expect(existsSync(join(lakeDir, "bronze/ad_click_events_raw/_delta_log/_last_checkpoint"))).toBe(true);
    // The data exercises the hard_cap columns: Kernel's equality covers non-zero over_cap values.
    const { rows: overCap } = await db.pool.query<{ silver: string; gold: string }>(
      `SELECT (SELECT count(*) FROM silver.ad_click_events_clean WHERE contrib_over_cap_micros > 0)::text AS silver,
              (SELECT count(*) FROM gold.advertiser_spend WHERE over_cap_spend > 0)::text AS gold`,
    );
    expect(Number(overCap[0]?.silver)).toBeGreaterThan(0);
    expect(Number(overCap[0]?.gold)).toBeGreaterThan(0);
    for (const key of TABLES) await expectTableEqualsPostgres(db, lakeDir, key);
    console.log(
      `[lake] local export: ${reports.map((r) => `${r.table} ${r.rows} rows/${r.commits} commits`).join(", ")} in ${exportMs} ms`,
    );
    // Postgres mirrors the Delta progress per partition.
    const { rows } = await db.pool.query<{ table_name: string; n: string }>(
      "SELECT table_name, sum(next_offset)::text AS n FROM ingest.lake_export_offsets GROUP BY table_name ORDER BY 1",
    );
    expect(rows.find((r) => r.table_name === "bronze")?.n).toBe(String(offsets.reduce((a, b) => a + b, 0)));
  });

  it("a second run with nothing new commits nothing; new records are appended and changed Gold days rewritten", {
    timeout: 300_000,
  }, async () => {
    const idle = await exporter(1_200).exportTables(TABLES);
    expect(idle.map((r) => r.commits)).toEqual([0, 0, 0]);

    // More traffic in the same hours: new Bronze/Silver rows and updated Gold rows of existing days.
    offsets = await fillWarehouse(db.pool, {
      seed: 8008,
      events: 2_000,
      topic: TOPIC,
      firstOffsets: offsets,
    });
    const goldFilesBefore = await new DeltaLakeSink(new LocalObjectStore(lakeDir))
      .table(EXPORT_TABLES.gold.spec)
      .files();
    const reports = await exporter(5_000).exportTables(TABLES);
    expect(reports.find((r) => r.table === "bronze")?.rows).toBe(2_000);
    const gold = reports.find((r) => r.table === "gold");
    expect(gold?.commits).toBe(1);
    for (const key of TABLES) await expectTableEqualsPostgres(db, lakeDir, key);
    // The Gold commit replaced the changed days' files (remove + add in one commit), it did not append duplicates.
    const commit = readFileSync(
      join(lakeDir, "gold/advertiser_spend/_delta_log", `${String(gold?.version).padStart(20, "0")}.json`),
      "utf8",
    )
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { remove?: { path: string }; add?: { path: string } });
    const removed = commit.flatMap((a) => (a.remove ? [decodeURIComponent(a.remove.path)] : []));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((path) => goldFilesBefore.some((f) => f.path === path))).toBe(true);
    expect(commit.filter((a) => a.add).length).toBeGreaterThan(0);
  });

  it("DuckDB (a second Parquet reader) reads every data file: counts match the log's stats, types are UTC µs timestamps and decimals", {
    timeout: 120_000,
  }, async () => {
    const duck = await DuckDBInstance.create(":memory:");
    const connection = await duck.connect();
    try {
      for (const key of TABLES) {
        const table = EXPORT_TABLES[key];
        const dir = join(lakeDir, table.spec.path);
        const active = await new DeltaLakeSink(new LocalObjectStore(lakeDir)).table(table.spec).files();
        const files = await parquetFiles(dir);
        expect(files.length).toBeGreaterThanOrEqual(active.length);
        let total = 0;
        for (const file of active) {
          const path = join(lakeDir, table.spec.path, file.path).replaceAll("'", "''");
          const count = await connection.runAndReadAll(
            `SELECT count(*)::BIGINT AS n FROM read_parquet('${path}')`,
          );
          const n = Number(count.getRowObjectsJson()[0]?.n);
          expect(n).toBe(file.rows);
          total += n;
        }
        expect(total).toBe((await postgresRows(db.pool, key)).length);
        const sample = join(dir, active[0]!.path).replaceAll("'", "''");
        const schema = (
          await connection.runAndReadAll(
            `SELECT name, type, logical_type FROM parquet_schema('${sample}') WHERE name IN ('timestamp', 'kafka_timestamp', 'window_start', 'amount', 'gross_spend')`,
          )
        ).getRowObjectsJson();
        for (const column of schema) {
          if (String(column.name).includes("amount") || String(column.name).includes("spend")) {
            expect(String(column.logical_type)).toContain("DecimalType(scale=6, precision=20)");
          } else {
            expect(column.type).toBe("INT64");
            expect(String(column.logical_type)).toMatch(
              /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
            );
          }
        }
        expect(schema.length).toBeGreaterThan(0);
      }
      // Money sums agree to the micro between DuckDB over the Gold files and Postgres.
      const goldDir = join(lakeDir, EXPORT_TABLES.gold.spec.path);
      const active = await new DeltaLakeSink(new LocalObjectStore(lakeDir))
        .table(EXPORT_TABLES.gold.spec)
        .files();
      const list = active.map((f) => `'${join(goldDir, f.path).replaceAll("'", "''")}'`).join(",");
      for (const column of ["gross_spend", "over_cap_spend"]) {
        const duckSum = (
          await connection.runAndReadAll(`SELECT sum(${column})::VARCHAR AS s FROM read_parquet([${list}])`)
        ).getRowObjectsJson()[0]?.s;
        const { rows } = await db.pool.query<{ s: string }>(
          `SELECT sum(${column})::text AS s FROM gold.advertiser_spend`,
        );
        expect(Number(String(duckSum).replace(".", ""))).toBe(Number(rows[0]!.s.replace(".", "")));
      }
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
  });

  it("parquet-mr (Spark's reader) parses every file's created_by and keeps the binary columns' statistics", {
    timeout: 300_000,
  }, async () => {
    const files: string[] = [];
    for (const key of TABLES) {
      const table = EXPORT_TABLES[key];
      const active = await new DeltaLakeSink(new LocalObjectStore(lakeDir)).table(table.spec).files();
      files.push(...active.map((file) => join(lakeDir, table.spec.path, file.path)));
    }
    // A control written with the old created_by: parquet-mr cannot parse it (the PARQUET-251 warning, and it
    // distrusts the binary columns' legacy min/max).
    const control = join(lakeDir, "control-old-created-by.parquet");
    const properties = new parquet.WriterPropertiesBuilder()
      .setCreatedBy("adpipe-lake (parquet-wasm)")
      .build();
    writeFileSync(
      control,
      parquet.writeParquet(
        parquet.Table.fromIPCStream(tableToIPC(tableFromArrays({ advertiser_id: ["a", "b"] }), "stream")),
        properties,
      ),
    );
    const footers = await readFootersWithParquetMr([...files, control]);
    const old = footers.pop();
    expect(old?.createdBy).toBe("adpipe-lake (parquet-wasm)");
    expect(old?.parsed).toBeNull();
    expect(old?.ignoresBinaryStatistics).toBe(true);

    expect(footers).toHaveLength(files.length);
    for (const footer of footers) {
      expect(footer.createdBy).toBe(parquetCreatedBy());
      expect(footer.parsed).toMatchObject({ application: "adpipe-lake", version: LAKE_VERSION });
      expect(footer.semver).toBe(true);
      expect(footer.ignoresBinaryStatistics).toBe(false);
      expect(footer.binaryColumns.length).toBeGreaterThan(0);
      // Non-null binary columns carry min/max that parquet-mr keeps (all-null ones have no min/max to keep).
      expect(footer.binaryColumns.filter((c) => c.hasNonNull).length).toBeGreaterThan(0);
      for (const column of footer.binaryColumns.filter((c) => c.hasNonNull)) {
        expect(column.statisticsEmpty, `${footer.file} ${column.column}`).toBe(false);
      }
    }
  });

  it("a full export replaces each table with one snapshot and keeps the rows equal", {
    timeout: 300_000,
  }, async () => {
    const reports = await exporter(3_000).exportTables(TABLES, { full: true });
    for (const report of reports) expect(report.commits).toBe(1);
    for (const key of TABLES) await expectTableEqualsPostgres(db, lakeDir, key);
    const log = readFileSync(
      join(
        lakeDir,
        "bronze/ad_click_events_raw/_delta_log",
        `${String(reports[0]!.version).padStart(20, "0")}.json`,
      ),
      "utf8",
    );
    expect(log).toContain('"remove"');
    // Incremental export continues from the rebuild's progress: nothing to do.
    const after = await exporter(3_000).exportTables(TABLES);
    expect(after.map((r) => r.commits)).toEqual([0, 0, 0]);
  });
});

describe("Delta tables written before a warehouse migration added a column", () => {
  let db: LakeTestDatabase;
  let lakeDir: string;

  beforeAll(async () => {
    [db, lakeDir] = await Promise.all([createLakeDatabase(), tempDir("adpipe-lake-evolve-")]);
    await fillWarehouse(db.pool, { seed: 7011, events: 5_000, topic: "lake-evolve", hardCapShare: 0.5 });
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  it("Gold gains the nullable column (over_cap_spend, migration 0014) and has every day rewritten with it", {
    timeout: 300_000,
  }, async () => {
    const gold = EXPORT_TABLES.gold;
    const sink = new DeltaLakeSink(new LocalObjectStore(lakeDir));
    // The table as the exporter wrote it before the column existed, holding a day Postgres no longer has.
    const before = sink.table({
      ...gold.spec,
      // Every column before over_cap_spend (the later ones, local_spend_day of 0020, are added with it).
      columns: gold.spec.columns.slice(
        0,
        gold.spec.columns.findIndex((column) => column.name === "over_cap_spend"),
      ),
    });
    await before.create();
    const day = BigInt(Date.UTC(2020, 0, 1)) * 1000n;
    await before.append(
      [
        {
          advertiser: "old",
          advertiser_id: "old",
          gross_spend: 1_000_000n,
          net_spend: 1_000_000n,
          record_count: 1n,
          budget_value: null,
          can_serve: false,
          window_start: day,
          window_end: day + 3_600_000_000n,
          spend_hour: day,
          spend_day: day,
          spend_month: day,
          valid_clicks: 1n,
          invalid_clicks: 0n,
          duplicate_clicks: 0n,
          budget_event_time: null,
          period_net_spend: 1_000_000n,
          serving_reason: "no_budget",
          last_event_time: day,
          updated_at: day,
          budget_source: null,
        },
      ],
      { tags: { "adpipe.fingerprint": "before-0014" } },
    );
    const [report] = await new DeltaExporter({ pool: db.pool, sink, batchRows: 1_000 }).exportTables([
      "gold",
    ]);
    expect(report?.caughtUp).toBe(true);
    const log = readFileSync(
      join(lakeDir, gold.spec.path, "_delta_log", `${"2".padStart(20, "0")}.json`),
      "utf8",
    );
    expect(log).toContain('"operation":"ADD COLUMNS"');
    expect(log).toContain(
      '"columns":"[{\\"column\\":\\"over_cap_spend\\",\\"type\\":\\"decimal(20,6)\\"},{\\"column\\":\\"local_spend_day\\",\\"type\\":\\"date\\"}]"',
    );
    // Schema with the column, the stale day gone, every row (and its over_cap_spend) equal to Postgres.
    await expectTableEqualsPostgres(db, lakeDir, "gold");
    const overCap = (await postgresRows(db.pool, "gold")).filter((row) => row.over_cap_spend !== "0.000000");
    expect(overCap.length).toBeGreaterThan(0);
    // A column that is not nullable, or not at the end, is still refused.
    const reordered = sink.table({ ...gold.spec, columns: [...gold.spec.columns].reverse() });
    await expect(reordered.create()).rejects.toMatchObject({ code: "ADP_LAKE_SCHEMA_MISMATCH" });
  });

  it("Silver gains contrib_over_cap_micros (migration 0014): ADD COLUMNS, then rows exported with it", {
    timeout: 300_000,
  }, async () => {
    const silver = EXPORT_TABLES.silver;
    const sink = new DeltaLakeSink(new LocalObjectStore(lakeDir));
    await sink
      .table({
        ...silver.spec,
        columns: silver.spec.columns.filter((column) => column.name !== "contrib_over_cap_micros"),
      })
      .create();
    const [report] = await new DeltaExporter({ pool: db.pool, sink, batchRows: 1_000 }).exportTables([
      "silver",
    ]);
    expect(report?.caughtUp).toBe(true);
    const log = readFileSync(
      join(lakeDir, silver.spec.path, "_delta_log", `${"1".padStart(20, "0")}.json`),
      "utf8",
    );
    expect(log).toContain('"operation":"ADD COLUMNS"');
    await expectTableEqualsPostgres(db, lakeDir, "silver");
    const overCap = (await postgresRows(db.pool, "silver")).filter(
      (row) => row.contrib_over_cap_micros !== "0",
    );
    expect(overCap.length).toBeGreaterThan(0);
  });
});
