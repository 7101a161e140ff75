import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  AzureBlobObjectStore,
  DeltaExporter,
  DeltaLakeSink,
  EXPORT_TABLES,
  type ExportTableKey,
  types,
} from "@adpipe/lake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../support/index.js";
import {
  type Azurite,
  createLakeDatabase,
  downloadTree,
  fillWarehouse,
  type LakeTestDatabase,
  postgresRows,
  readWithKernel,
  requireVerifierPrerequisites,
  sortRows,
  startAzurite,
  tempDir,
} from "./support.js";

const TOPIC = "lake-azure";
const TABLES: readonly ExportTableKey[] = ["bronze", "silver", "gold"];
requireVerifierPrerequisites();

describe("Delta export to Azure Blob Storage (Azurite), read back with Delta Kernel", () => {
  let azurite: Azurite;
  let db: LakeTestDatabase;
  let downloads: string;
  const container = uniqueName("lake").slice(0, 60).replace(/-+$/, "");

  const store = (prefix: string) =>
    AzureBlobObjectStore.open({
      credentials: { kind: "connection-string", connectionString: azurite.connectionString },
      container,
      prefix,
      createContainer: true,
    });

  beforeAll(async () => {
    [azurite, db, downloads] = await Promise.all([
      startAzurite(),
      createLakeDatabase(),
      tempDir("adpipe-lake-azure-"),
    ]);
    await fillWarehouse(db.pool, { seed: 4242, events: 4_000, topic: TOPIC });
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    await azurite?.stop();
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  async function expectKernelEqualsPostgres(prefix: string): Promise<void> {
    const target = join(downloads, prefix);
    const copied = await downloadTree(await store(""), `${prefix}/`, downloads);
    expect(copied).toBeGreaterThan(0);
    for (const key of TABLES) {
      const kernel = await readWithKernel(join(target, EXPORT_TABLES[key].spec.path));
      const expected = await postgresRows(db.pool, key);
      expect(kernel.partitionColumns).toEqual([...EXPORT_TABLES[key].spec.partitionColumns]);
      expect(kernel.rowCount, `${key} row count`).toBe(expected.length);
      expect(sortRows(key, kernel.rows)).toEqual(sortRows(key, expected));
    }
  }

  it("put-if-absent is atomic: eight concurrent creates of one commit file, exactly one wins", async () => {
    const s = await store("atomic");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        s.putIfAbsent("_delta_log/00000000000000000000.json", Buffer.from(`writer ${i}\n`)),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(Buffer.from((await s.get("_delta_log/00000000000000000000.json"))!).toString()).toBe(
      `writer ${winner}\n`,
    );
  });

  it("eight writers race for the same version with the same idempotency token: one commit, seven superseded", async () => {
    const spec = {
      name: "race.t",
      path: "race-table/t",
      columns: [{ name: "id", type: types.long(), nullable: false }],
      partitionColumns: [],
    };
    const writers = await Promise.all(
      Array.from({ length: 8 }, async () => new DeltaLakeSink(await store("races")).table(spec)),
    );
    await Promise.all(writers.map((w) => w.create()));
    const staged = await Promise.all(writers.map((w, i) => w.stage([{ id: BigInt(i) }])));
    const results = await Promise.all(
      writers.map((w, i) =>
        w.commit([staged[i]!], {
          tokens: [{ appId: "race", version: 1 }],
          expectedTokens: new Map([["race", null]]),
        }),
      ),
    );
    expect(results.filter((r) => r.outcome === "committed")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "superseded")).toHaveLength(7);
    expect(await writers[0]!.version()).toBe(1);
    expect((await writers[0]!.files()).length).toBe(1);
  });

  it("exports Bronze, Silver and Gold to blobs; the copied tables read in Kernel equal Postgres", {
    timeout: 300_000,
  }, async () => {
    const started = Date.now();
    const exporter = new DeltaExporter({
      pool: db.pool,
      sink: new DeltaLakeSink(await store("lake"), { checkpointInterval: 3 }),
      batchRows: 900,
    });
    const reports = await exporter.exportTables(TABLES);
    expect(reports.every((r) => r.caughtUp)).toBe(true);
    console.log(
      `[lake] Azurite export: ${reports.map((r) => `${r.table} ${r.rows} rows/${r.commits} commits`).join(", ")} in ${Date.now() - started} ms`,
    );
    expect(
      (await (await store("lake")).list("bronze/ad_click_events_raw/_delta_log/_last_checkpoint")).length,
    ).toBe(1);
    await expectKernelEqualsPostgres("lake");
  });

  it("two exporters racing on the same tables: each version is committed once and no row is duplicated", {
    timeout: 300_000,
  }, async () => {
    const make = async () =>
      new DeltaExporter({
        pool: db.pool,
        sink: new DeltaLakeSink(await store("raced"), { checkpointInterval: 5 }),
        lakeId: "raced-lake",
        batchRows: 300,
      });
    const [a, b] = await Promise.all([make(), make()]);
    const [ra, rb] = await Promise.all([a.exportTables(TABLES), b.exportTables(TABLES)]);
    const lost = [...ra, ...rb].reduce((sum, r) => sum + r.superseded + r.conflicts, 0);
    console.log(`[lake] racing exporters: ${lost} batches lost to the other exporter`);
    for (const key of ["bronze", "silver"] as const) {
      const commits = [...ra, ...rb].filter((r) => r.table === key).reduce((sum, r) => sum + r.commits, 0);
      const version = await new DeltaLakeSink(await store("raced")).table(EXPORT_TABLES[key].spec).version();
      // Version 0 is the table's creation; every later version is exactly one exporter's commit.
      expect(commits).toBe(version);
    }
    expect(lost).toBeGreaterThan(0);
    await expectKernelEqualsPostgres("raced");
  });
});
