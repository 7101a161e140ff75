/**
 * DeltaTable on the local object store: what each operation writes to `_delta_log` and next to it (commit
 * actions, data files, checkpoints), read back from disk. The JDK verifier (tests/integration/lake) checks that
 * Delta Kernel reads such tables; these check the log entries themselves.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkpointFileName, commitFileName, serializeActions } from "../../src/delta/actions.js";
import { readParquet } from "../../src/delta/parquet.js";
import { types } from "../../src/delta/schema.js";
import { LAST_CHECKPOINT, LOG_DIR } from "../../src/delta/state.js";
import { DEFAULT_DELTA_OPTIONS, DeltaLakeSink, DeltaTable, WRITER_PROTOCOL } from "../../src/delta/table.js";
import type { LakeError } from "../../src/errors.js";
import type { StagedFiles } from "../../src/lake.js";
import type { LocalObjectStore } from "../../src/storage/local.js";
import type { ObjectStore } from "../../src/storage/object-store.js";
import {
  actionsOf,
  commitActions,
  dataFiles,
  logFiles,
  only,
  SPEND_SPEC,
  spendRow,
  temporaryStore,
} from "./local-table.js";

const NOW = Date.UTC(2026, 0, 15, 12);
const options = { ...DEFAULT_DELTA_OPTIONS, now: () => NOW };
const path = SPEND_SPEC.path;

let root: string;
let store: LocalObjectStore;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ root, store, remove } = await temporaryStore());
});
afterEach(async () => {
  await remove();
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as LakeError).code;
  }
  return "resolved";
}

describe("DeltaTable.create", () => {
  it("writes version 0: commitInfo CREATE TABLE, protocol 1/2 and the metaData of the spec", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    expect(await table.version()).toBe(-1);
    expect(await table.create()).toBe(0);

    expect(await logFiles(root, path)).toEqual([commitFileName(0)]);
    const actions = (await commitActions(store, path, 0))!;
    expect(actions.map((action) => Object.keys(action)[0])).toEqual(["commitInfo", "protocol", "metaData"]);
    const info = only(actions, "commitInfo");
    expect(info).toMatchObject({
      timestamp: NOW,
      operation: "CREATE TABLE",
      operationParameters: { partitionBy: '["day"]', description: "spend per advertiser and day" },
      isBlindAppend: true,
    });
    expect(String(info.engineInfo)).toMatch(/^adpipe-lake\//);
    expect(only(actions, "protocol")).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const metadata = only(actions, "metaData");
    expect(metadata).toMatchObject({
      name: "test.spend",
      description: "spend per advertiser and day",
      format: { provider: "parquet", options: {} },
      partitionColumns: ["day"],
      configuration: { "delta.checkpoint.writeStatsAsJson": "true" },
      createdTime: NOW,
    });
    expect(metadata.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(metadata.schemaString)).toEqual({
      type: "struct",
      fields: [
        { name: "advertiser_id", type: "string", nullable: false, metadata: {} },
        { name: "day", type: "string", nullable: true, metadata: {} },
        { name: "amount", type: "decimal(20,6)", nullable: false, metadata: {} },
        { name: "clicks", type: "long", nullable: false, metadata: {} },
        { name: "note", type: "string", nullable: true, metadata: {} },
      ],
    });
  });

  it("is idempotent: a second create (another writer too) returns version 0 and writes nothing", async () => {
    await new DeltaTable(store, SPEND_SPEC, options).create();
    const before = await store.get(`${path}/${LOG_DIR}/${commitFileName(0)}`);
    expect(await new DeltaTable(store, SPEND_SPEC, options).create()).toBe(0);
    expect(await logFiles(root, path)).toEqual([commitFileName(0)]);
    expect(await store.get(`${path}/${LOG_DIR}/${commitFileName(0)}`)).toEqual(before);
  });

  it("adds the writer's new nullable columns in one ADD COLUMNS commit; refuses any other schema change", async () => {
    const older = { ...SPEND_SPEC, columns: SPEND_SPEC.columns.slice(0, 4) };
    await new DeltaTable(store, older, options).create();
    expect(await new DeltaTable(store, SPEND_SPEC, options).create()).toBe(1);
    const actions = (await commitActions(store, path, 1))!;
    expect(only(actions, "commitInfo")).toMatchObject({
      operation: "ADD COLUMNS",
      operationParameters: { columns: '[{"column":"note","type":"string"}]' },
      readVersion: 0,
      isBlindAppend: false,
    });
    const fields = JSON.parse(only(actions, "metaData").schemaString).fields as { name: string }[];
    expect(fields.map((field) => field.name)).toEqual(["advertiser_id", "day", "amount", "clicks", "note"]);
    // The metaData keeps the table's identity.
    const created = only((await commitActions(store, path, 0))!, "metaData");
    expect(only(actions, "metaData").id).toBe(created.id);

    const renamed = {
      ...SPEND_SPEC,
      columns: [...SPEND_SPEC.columns.slice(0, 4), { ...SPEND_SPEC.columns[4]!, name: "x" }],
    };
    expect(await code(new DeltaTable(store, renamed, options).create())).toBe("ADP_LAKE_SCHEMA_MISMATCH");
    const required = {
      ...SPEND_SPEC,
      columns: [...SPEND_SPEC.columns, { name: "extra", type: types.long(), nullable: false }],
    };
    expect(await code(new DeltaTable(store, required, options).create())).toBe("ADP_LAKE_SCHEMA_MISMATCH");
    expect(await logFiles(root, path)).toEqual([commitFileName(0), commitFileName(1)]);
  });

  it("refuses a table that needs a newer protocol than reader 1 / writer 2", async () => {
    await new DeltaTable(store, SPEND_SPEC, options).create();
    await store.putIfAbsent(
      `${path}/${LOG_DIR}/${commitFileName(1)}`,
      serializeActions([{ protocol: { minReaderVersion: 3, minWriterVersion: 7 } }]),
    );
    expect(WRITER_PROTOCOL).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    expect(await code(new DeltaTable(store, SPEND_SPEC, options).create())).toBe(
      "ADP_LAKE_PROTOCOL_UNSUPPORTED",
    );
  });
});

describe("DeltaTable.append", () => {
  it("writes one Parquet file per partition and a commit with commitInfo, txn and add actions", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    await table.create();
    const result = await table.append(
      [
        spendRow("a", "2026-01-14", 1_500_000n),
        spendRow("b", "2026-01-15", 250_000n, 2n),
        spendRow("c", null, 1n),
      ],
      { tokens: [{ appId: "exporter", version: 7 }], tags: { fingerprint: "f1" } },
    );
    expect(result).toMatchObject({
      outcome: "committed",
      version: 1,
      attempts: 1,
      addedFiles: 3,
      removedFiles: 0,
      rows: 3,
    });

    const actions = (await commitActions(store, path, 1))!;
    expect(actions.map((action) => Object.keys(action)[0])).toEqual([
      "commitInfo",
      "txn",
      "add",
      "add",
      "add",
    ]);
    const adds = actionsOf(actions, "add");
    expect(only(actions, "commitInfo")).toMatchObject({
      operation: "WRITE",
      operationParameters: { mode: "Append" },
      readVersion: 0,
      isBlindAppend: true,
      operationMetrics: {
        numFiles: "3",
        numOutputRows: "3",
        numOutputBytes: String(adds.reduce((sum, add) => sum + add.size, 0)),
        numRemovedFiles: "0",
      },
    });
    expect(actionsOf(actions, "txn")).toEqual([{ appId: "exporter", version: 7, lastUpdated: NOW }]);

    // Hive-style partition folders; a null partition value is Hive's default partition.
    expect(adds.map((add) => add.partitionValues)).toEqual([
      { day: "2026-01-14" },
      { day: "2026-01-15" },
      { day: null },
    ]);
    const paths = adds.map((add) => decodeURIComponent(add.path));
    expect(paths[0]).toMatch(/^day=2026-01-14\/part-00000-[0-9a-f-]{36}\.c000\.zstd\.parquet$/);
    expect(paths[2]).toMatch(/^day=__HIVE_DEFAULT_PARTITION__\/part-00002-/);
    expect(await dataFiles(root, path)).toEqual([...paths].sort());
    for (const add of adds) {
      expect(add).toMatchObject({ modificationTime: NOW, dataChange: true, tags: { fingerprint: "f1" } });
      expect(add.size).toBe((await stat(join(root, path, decodeURIComponent(add.path)))).size);
      expect(JSON.parse(add.stats!)).toMatchObject({ numRecords: 1, nullCount: { note: 1 } });
    }
    expect(JSON.parse(adds[1]!.stats!)).toEqual({
      numRecords: 1,
      minValues: { advertiser_id: "b", amount: 0.25, clicks: 2 },
      maxValues: { advertiser_id: "b", amount: 0.25, clicks: 2 },
      nullCount: { advertiser_id: 0, amount: 0, clicks: 0, note: 1 },
    });

    // The data file holds the data columns (partition values live in the log only, as Spark writes them).
    const file = readParquet((await store.get(`${path}/${decodeURIComponent(adds[0]!.path)}`))!);
    expect(file.schema.fields.map((field) => field.name)).toEqual([
      "advertiser_id",
      "amount",
      "clicks",
      "note",
    ]);
    expect(file.numRows).toBe(1);
    expect(file.getChild("advertiser_id")?.get(0)).toBe("a");
    expect(file.getChild("clicks")?.get(0)).toBe(1n);

    expect(await table.tokens()).toEqual(new Map([["exporter", 7]]));
    expect((await table.files()).map((f) => ({ path: f.path, rows: f.rows, tags: f.tags }))).toEqual(
      paths.map((p) => ({ path: p, rows: 1, tags: { fingerprint: "f1" } })),
    );
  });

  it("splits a partition group into files of at most maxRowsPerFile rows", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, { ...options, maxRowsPerFile: 2 });
    await table.create();
    const rows = ["a", "b", "c", "d", "e"].map((id) => spendRow(id, "2026-01-15", 1n));
    await table.append(rows, {});
    const adds = actionsOf((await commitActions(store, path, 1))!, "add");
    expect(adds.map((add) => JSON.parse(add.stats!).numRecords)).toEqual([2, 2, 1]);
  });

  it("a token already recorded makes the commit superseded and its staged files are deleted", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    await table.create();
    await table.append([spendRow("a", "2026-01-15", 1n)], { tokens: [{ appId: "exporter", version: 1 }] });
    const files = await dataFiles(root, path);

    const again = await table.append([spendRow("a", "2026-01-15", 1n)], {
      tokens: [{ appId: "exporter", version: 1 }],
    });
    expect(again).toEqual({ outcome: "superseded", version: 1, attempts: 1 });
    // Expected progress that is not the table's: superseded too.
    const stale = await table.append([spendRow("z", "2026-01-15", 1n)], {
      tokens: [{ appId: "exporter", version: 2 }],
      expectedTokens: new Map([["exporter", 0]]),
    });
    expect(stale.outcome).toBe("superseded");
    expect(await logFiles(root, path)).toEqual([commitFileName(0), commitFileName(1)]);
    expect(await dataFiles(root, path)).toEqual(files);

    const next = await table.append([spendRow("b", "2026-01-15", 1n)], {
      tokens: [{ appId: "exporter", version: 2 }],
      expectedTokens: new Map([["exporter", 1]]),
    });
    expect(next).toMatchObject({ outcome: "committed", version: 2 });
    expect(actionsOf((await commitActions(store, path, 2))!, "txn")).toEqual([
      { appId: "exporter", version: 2, lastUpdated: NOW },
    ]);
  });

  it("refuses to write before create, and staged files of another table", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    expect(await code(table.commit([], {}))).toBe("ADP_LAKE_NOT_ALLOWED");
    await table.create();
    const foreign: StagedFiles = { files: [] };
    expect(await code(table.commit([foreign], {}))).toBe("ADP_LAKE_INVALID_ROWS");
  });
});

describe("DeltaTable.commit with replace", () => {
  it("removes the replaced partitions' files in the same commit that adds the new ones", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    await table.create();
    await table.append([spendRow("a", "2026-01-14", 1n), spendRow("a", "2026-01-15", 2n)], {});
    const [day14, day15] = actionsOf((await commitActions(store, path, 1))!, "add");

    const staged = await table.stage([spendRow("a", "2026-01-15", 3n)]);
    const result = await table.commit([staged], {
      replace: { partitions: [{ day: "2026-01-15" }] },
      readVersion: 1,
      operation: "REPLACE DAYS",
    });
    expect(result).toMatchObject({ outcome: "committed", version: 2, addedFiles: 1, removedFiles: 1 });
    const actions = (await commitActions(store, path, 2))!;
    expect(only(actions, "commitInfo")).toMatchObject({
      operation: "REPLACE DAYS",
      operationParameters: { mode: "Overwrite" },
      isBlindAppend: false,
      operationMetrics: { numFiles: "1", numRemovedFiles: "1" },
    });
    expect(actionsOf(actions, "remove")).toEqual([
      {
        path: day15!.path,
        deletionTimestamp: NOW,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: { day: "2026-01-15" },
        size: day15!.size,
      },
    ]);
    const files = (await table.files()).map((file) => file.path);
    expect(files).toHaveLength(2);
    expect(files).toContain(decodeURIComponent(day14!.path));
    expect(files).not.toContain(decodeURIComponent(day15!.path));
  });

  it("replace table removes every file; an append-only table refuses any removal", async () => {
    const table = new DeltaTable(store, SPEND_SPEC, options);
    await table.create();
    await table.append([spendRow("a", "2026-01-14", 1n), spendRow("a", "2026-01-15", 2n)], {});
    const result = await table.append([spendRow("b", "2026-01-16", 1n)], { replace: "table" });
    expect(result).toMatchObject({ outcome: "committed", removedFiles: 2, addedFiles: 1 });
    expect((await table.files()).map((file) => file.partitionValues)).toEqual([{ day: "2026-01-16" }]);

    const appendOnly = new DeltaTable(
      store,
      { ...SPEND_SPEC, path: "gold/append_only", configuration: { "delta.appendOnly": "true" } },
      options,
    );
    await appendOnly.create();
    await appendOnly.append([spendRow("a", "2026-01-14", 1n)], {});
    expect(await code(appendOnly.append([spendRow("a", "2026-01-14", 2n)], { replace: "table" }))).toBe(
      "ADP_LAKE_NOT_ALLOWED",
    );
    expect(await appendOnly.version()).toBe(1);
  });

  it("fails with commit_conflict when another writer changed a replaced partition since readVersion", async () => {
    const planner = new DeltaTable(store, SPEND_SPEC, options);
    await planner.create();
    await planner.append([spendRow("a", "2026-01-15", 1n)], {});
    const staged = await planner.stage([spendRow("a", "2026-01-15", 5n)]);

    // Another process appends to the same day, and to another day.
    const other = new DeltaTable(store, SPEND_SPEC, options);
    await other.append([spendRow("b", "2026-01-16", 1n)], {});
    await other.append([spendRow("b", "2026-01-15", 1n)], {});

    expect(
      await code(
        planner.commit([staged], { replace: { partitions: [{ day: "2026-01-15" }] }, readVersion: 1 }),
      ),
    ).toBe("ADP_LAKE_COMMIT_CONFLICT");
    expect(await planner.version()).toBe(3);
    // A replacement of a day nobody touched since still commits.
    const day14 = await planner.stage([spendRow("a", "2026-01-14", 5n)]);
    const ok = await planner.commit([day14], {
      replace: { partitions: [{ day: "2026-01-14" }] },
      readVersion: 1,
    });
    expect(ok).toMatchObject({ outcome: "committed", version: 4 });
  });
});

/** Lets another writer take the next version right before this store's first put-if-absent of a commit. */
function racingStore(inner: ObjectStore, race: () => Promise<void>): ObjectStore {
  let raced = false;
  return {
    description: inner.description,
    get: (p) => inner.get(p),
    put: (p, data) => inner.put(p, data),
    list: (prefix) => inner.list(prefix),
    delete: (p) => inner.delete(p),
    async putIfAbsent(p, data) {
      if (!raced && p.endsWith(".json") && !p.endsWith(commitFileName(0))) {
        raced = true;
        await race();
      }
      return inner.putIfAbsent(p, data);
    },
  };
}

describe("DeltaTable concurrency", () => {
  it("a lost race for a version re-reads the log and commits at the next version", async () => {
    const other = new DeltaTable(store, SPEND_SPEC, options);
    await other.create();
    const table = new DeltaTable(
      racingStore(store, async () => {
        await other.append([spendRow("other", "2026-01-15", 1n)], {
          tokens: [{ appId: "other", version: 1 }],
        });
      }),
      SPEND_SPEC,
      options,
    );
    const result = await table.append([spendRow("mine", "2026-01-15", 1n)], {
      tokens: [{ appId: "mine", version: 1 }],
    });
    expect(result).toMatchObject({ outcome: "committed", version: 2, attempts: 2 });
    expect(await logFiles(root, path)).toEqual([commitFileName(0), commitFileName(1), commitFileName(2)]);
    expect(only((await commitActions(store, path, 2))!, "commitInfo")).toMatchObject({ readVersion: 1 });
    expect(await table.tokens()).toEqual(
      new Map([
        ["other", 1],
        ["mine", 1],
      ]),
    );
    expect(await table.files()).toHaveLength(2);
  });

  it("a lost race against the same progress token ends superseded, with nothing written twice", async () => {
    const other = new DeltaTable(store, SPEND_SPEC, options);
    await other.create();
    const table = new DeltaTable(
      racingStore(store, async () => {
        await other.append([spendRow("a", "2026-01-15", 1n)], {
          tokens: [{ appId: "exporter", version: 1 }],
        });
      }),
      SPEND_SPEC,
      options,
    );
    const result = await table.append([spendRow("a", "2026-01-15", 1n)], {
      tokens: [{ appId: "exporter", version: 1 }],
    });
    expect(result).toEqual({ outcome: "superseded", version: 1, attempts: 2 });
    expect(await dataFiles(root, path)).toHaveLength(1);
  });
});

describe("DeltaTable checkpoints", () => {
  it("writes a checkpoint and _last_checkpoint after every checkpointInterval-th commit", async () => {
    const table = new DeltaLakeSink(store, { now: () => NOW, checkpointInterval: 2 }).table(SPEND_SPEC);
    await table.create();
    await table.append([spendRow("a", "2026-01-14", 1n)], { tokens: [{ appId: "exporter", version: 1 }] });
    expect((await logFiles(root, path)).some((name) => name.includes("checkpoint"))).toBe(false);
    await table.append([spendRow("b", "2026-01-15", 1n)], { tokens: [{ appId: "exporter", version: 2 }] });
    expect(await logFiles(root, path)).toEqual([
      commitFileName(0),
      commitFileName(1),
      checkpointFileName(2),
      commitFileName(2),
      LAST_CHECKPOINT,
    ]);
    const last = JSON.parse(
      Buffer.from((await store.get(`${path}/${LOG_DIR}/${LAST_CHECKPOINT}`))!).toString(),
    );
    // protocol + metaData + one txn + two files.
    expect(last).toMatchObject({ version: 2, size: 5, numOfAddFiles: 2 });
    await table.append([spendRow("c", "2026-01-16", 1n)], {});
    await table.append([spendRow("d", "2026-01-16", 1n)], {});
    expect((await logFiles(root, path)).filter((name) => name.includes(".checkpoint."))).toEqual([
      checkpointFileName(2),
      checkpointFileName(4),
    ]);
  });

  it("rejects a checkpoint interval that is not a positive integer", () => {
    expect(() => new DeltaTable(store, SPEND_SPEC, { ...options, checkpointInterval: 0 })).toThrow(
      /checkpointInterval/,
    );
  });
});
