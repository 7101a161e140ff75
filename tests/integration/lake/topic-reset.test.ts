/**
 * The lake export across a topic reset: a table written before topic generations existed gains the
 * topic_generation column by itself; a warehouse moved back under the lake is refused loudly (rows below the
 * lake's position would never be exported); after the reset the new log's rows, whose offsets start again at 0,
 * are exported as a stream of their own: every row of both logs in the lake once.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { DeltaExporter, DeltaLakeSink, EXPORT_TABLES, LocalObjectStore, streamToken } from "@adpipe/lake";
import { applyWarehouseReset, markOffsetReset, startOffsetReset } from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const TOPIC = "lake-reset";
requireVerifierPrerequisites();

describe("lake export across a topic reset", () => {
  let db: LakeTestDatabase;
  let lakeDir: string;
  let firstLog: number[];

  beforeAll(async () => {
    [db, lakeDir] = await Promise.all([createLakeDatabase(), tempDir("adpipe-lake-reset-")]);
    firstLog = await fillWarehouse(db.pool, { seed: 9100, events: 1_500, topic: TOPIC, partitions: 2 });
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    if (lakeDir) await rm(lakeDir, { recursive: true, force: true });
  });

  const exporter = () =>
    new DeltaExporter({
      pool: db.pool,
      sink: new DeltaLakeSink(new LocalObjectStore(lakeDir)),
      batchRows: 700,
    });

  it("a Bronze table created without topic_generation gains the column (additive schema change) and exports", {
    timeout: 300_000,
  }, async () => {
    const spec = EXPORT_TABLES.bronze.spec;
    const old = new DeltaLakeSink(new LocalObjectStore(lakeDir)).table({
      ...spec,
      columns: spec.columns.filter((column) => column.name !== "topic_generation"),
    });
    expect(await old.create()).toBe(0);
    const reports = await exporter().exportTables(["bronze", "silver"]);
    expect(reports.map((r) => [r.table, r.rows, r.resets.length])).toEqual([
      ["bronze", firstLog[0]! + firstLog[1]!, 0],
      ["silver", reports[1]!.rows, 0],
    ]);
    const kernel = await readWithKernel(join(lakeDir, spec.path));
    expect(kernel.schema.at(-1)).toEqual({ name: "topic_generation", type: "integer", nullable: true });
    expect(sortRows("bronze", kernel.rows)).toEqual(
      sortRows("bronze", await postgresRows(db.pool, "bronze")),
    );
  });

  it("refuses to export a topic whose warehouse positions moved back under the lake", {
    timeout: 120_000,
  }, async () => {
    // As after restoring Postgres from an older backup: partition 0 stands before what the lake already has.
    await db.pool.query(
      'UPDATE ingest.consumer_offsets SET next_offset = 10 WHERE topic = $1 AND "partition" = 0',
      [TOPIC],
    );
    const reports = await exporter().exportTables(["bronze", "silver"]);
    for (const report of reports) {
      expect(report.commits).toBe(0);
      expect(report.resets.map((r) => [r.topic, r.partition, r.storedOffset, r.logEndOffset])).toEqual([
        [TOPIC, 0, BigInt(firstLog[0]!), 10n],
      ]);
    }
  });

  it("after the reset, the new log (offsets from 0 again) is exported as its own stream: both logs once", {
    timeout: 300_000,
  }, async () => {
    const resetId = await startOffsetReset(db.pool, {
      topic: TOPIC,
      target: "earliest",
      actor: "vitest",
      reason: "lake test",
      source: "cli",
      plan: {},
    });
    expect(
      await applyWarehouseReset(db.pool, {
        topic: TOPIC,
        resetId,
        fromGeneration: 0,
        toGeneration: 1,
        moves: [0, 1].map((partition) => ({ pipeline: "lake-test", partition, to: 0n })),
      }),
    ).toBe("applied");
    await markOffsetReset(db.pool, resetId, "completed");
    const secondLog = await fillWarehouse(db.pool, {
      seed: 9200,
      events: 900,
      topic: TOPIC,
      partitions: 2,
      generation: 1,
    });

    const reports = await exporter().exportTables(["bronze", "silver"]);
    expect(reports.map((r) => r.resets.length)).toEqual([0, 0]);
    expect(reports[0]?.rows).toBe(secondLog[0]! + secondLog[1]!);
    for (const key of ["bronze", "silver"] as const) {
      const kernel = await readWithKernel(join(lakeDir, EXPORT_TABLES[key].spec.path));
      const lake = sortRows(key, kernel.rows);
      expect(lake).toEqual(sortRows(key, await postgresRows(db.pool, key)));
      const lineage = new Set(lake.map((r) => `${r.partition}/${r.topic_generation}/${r.offset}`));
      expect(lineage.size, `${key}: one row per (partition, generation, offset)`).toBe(lake.length);
    }
    // The Delta log's progress: generation 0 where it stood, generation 1 at the new log's end.
    const tokens = await new DeltaLakeSink(new LocalObjectStore(lakeDir))
      .table(EXPORT_TABLES.bronze.spec)
      .tokens();
    expect(tokens.get(streamToken(TOPIC, 0))).toBe(firstLog[0]);
    expect(tokens.get(streamToken(TOPIC, 0, 1))).toBe(secondLog[0]);
    expect(tokens.get(streamToken(TOPIC, 1, 1))).toBe(secondLog[1]);
  });
});
