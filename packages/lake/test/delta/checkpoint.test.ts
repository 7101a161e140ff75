/**
 * writeCheckpoint on the local object store: the Parquet checkpoint's rows and types (read back with the
 * writer's Parquet reader and with DuckDB, an independent one), `_last_checkpoint`, tombstone expiry, and the
 * state a reader replays from it.
 */
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Action, type AddAction, checkpointFileName } from "../../src/delta/actions.js";
import { parseInterval, writeCheckpoint } from "../../src/delta/checkpoint.js";
import { DEFAULT_PARQUET_OPTIONS, readParquet } from "../../src/delta/parquet.js";
import { LAST_CHECKPOINT, LOG_DIR, readTableState, TableState } from "../../src/delta/state.js";
import type { LocalObjectStore } from "../../src/storage/local.js";
import { temporaryStore } from "./local-table.js";

const TABLE = "gold/spend";
const LOG = `${TABLE}/${LOG_DIR}`;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 15);

function add(path: string, day: string | null): AddAction {
  return {
    path,
    partitionValues: { day },
    size: 1234,
    modificationTime: NOW - 1000,
    dataChange: true,
    stats: '{"numRecords":2}',
    tags: { fingerprint: `fp-${path}` },
  };
}

/** A state at version 12: two files, a txn, a fresh tombstone and one older than the default 7 days. */
function sampleState(configuration: Record<string, string> = {}): TableState {
  const state = new TableState();
  const actions: Action[] = [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: "0b1c2d3e-0000-4000-8000-00000000000a",
        name: "gold.spend",
        description: null,
        format: { provider: "parquet", options: {} },
        schemaString: '{"type":"struct","fields":[]}',
        partitionColumns: ["day"],
        configuration,
        createdTime: NOW - 30 * DAY,
      },
    },
    { add: add("day=2026-01-14/a.parquet", "2026-01-14") },
    { add: add("day=2026-01-15/b.parquet", "2026-01-15") },
    { add: add("day=__HIVE_DEFAULT_PARTITION__/n.parquet", null) },
    { txn: { appId: "exporter", version: 41, lastUpdated: NOW - 5000 } },
    {
      remove: {
        path: "day=2026-01-13/fresh.parquet",
        deletionTimestamp: NOW - 2 * DAY,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: { day: "2026-01-13" },
        size: 77,
      },
    },
    {
      remove: {
        path: "day=2026-01-01/old.parquet",
        deletionTimestamp: NOW - 8 * DAY,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: { day: "2026-01-01" },
        size: 66,
      },
    },
  ];
  state.apply(actions, 12);
  return state;
}

let root: string;
let store: LocalObjectStore;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ root, store, remove } = await temporaryStore());
});
afterEach(async () => {
  await remove();
});

/** Each checkpoint row as { kind: its one non-null action column, value: that column's value as JSON }. */
function checkpointRows(bytes: Uint8Array): { kind: string; value: Record<string, unknown> }[] {
  const table = readParquet(bytes);
  expect(table.schema.fields.map((field) => field.name)).toEqual([
    "protocol",
    "metaData",
    "txn",
    "add",
    "remove",
  ]);
  const rows: { kind: string; value: Record<string, unknown> }[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const present = table.schema.fields
      .map((field) => [field.name, table.getChild(field.name)?.get(i)] as const)
      .filter(([, value]) => value !== null && value !== undefined);
    expect(present, `row ${i} holds exactly one action`).toHaveLength(1);
    const [kind, value] = present[0]!;
    rows.push({
      kind,
      value: JSON.parse(JSON.stringify(value.toJSON(), (_, v) => (typeof v === "bigint" ? Number(v) : v))),
    });
  }
  return rows;
}

describe("writeCheckpoint", () => {
  it("writes protocol, metaData, txns, active files (dataChange false) and unexpired tombstones", async () => {
    const result = await writeCheckpoint(store, TABLE, sampleState(), DEFAULT_PARQUET_OPTIONS, NOW);
    const bytes = (await store.get(`${LOG}/${checkpointFileName(12)}`))!;
    expect(result).toEqual({ version: 12, actions: 7, bytes: bytes.length });

    const rows = checkpointRows(bytes);
    expect(rows.map((row) => row.kind)).toEqual([
      "protocol",
      "metaData",
      "txn",
      "add",
      "add",
      "add",
      "remove",
    ]);
    expect(rows[0]!.value).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    expect(rows[1]!.value).toMatchObject({
      id: "0b1c2d3e-0000-4000-8000-00000000000a",
      name: "gold.spend",
      description: null,
      format: { provider: "parquet" },
      partitionColumns: ["day"],
      createdTime: NOW - 30 * DAY,
    });
    expect(rows[2]!.value).toEqual({ appId: "exporter", version: 41, lastUpdated: NOW - 5000 });
    expect(rows[3]!.value).toMatchObject({
      path: "day=2026-01-14/a.parquet",
      partitionValues: { day: "2026-01-14" },
      size: 1234,
      modificationTime: NOW - 1000,
      // A checkpoint re-states files; it changes no data.
      dataChange: false,
      stats: '{"numRecords":2}',
      tags: { fingerprint: "fp-day=2026-01-14/a.parquet" },
    });
    expect(rows[5]!.value).toMatchObject({ partitionValues: { day: null } });
    // The tombstone older than the 7-day default retention is gone; the fresh one stays, without dataChange.
    expect(rows[6]!.value).toEqual({
      path: "day=2026-01-13/fresh.parquet",
      deletionTimestamp: NOW - 2 * DAY,
      dataChange: false,
      extendedFileMetadata: true,
      partitionValues: { day: "2026-01-13" },
      size: 77,
    });

    const last = JSON.parse(Buffer.from((await store.get(`${LOG}/${LAST_CHECKPOINT}`))!).toString("utf8"));
    expect(last).toEqual({ version: 12, size: 7, sizeInBytes: bytes.length, numOfAddFiles: 3 });
  });

  it("keeps tombstones for delta.deletedFileRetentionDuration when the table sets it", async () => {
    const kept = sampleState({ "delta.deletedFileRetentionDuration": "interval 30 days" });
    await writeCheckpoint(store, TABLE, kept, DEFAULT_PARQUET_OPTIONS, NOW);
    const rows = checkpointRows((await store.get(`${LOG}/${checkpointFileName(12)}`))!);
    expect(rows.filter((row) => row.kind === "remove").map((row) => row.value.path)).toEqual([
      "day=2026-01-13/fresh.parquet",
      "day=2026-01-01/old.parquet",
    ]);
    const short = sampleState({ "delta.deletedFileRetentionDuration": "interval 1 day" });
    await writeCheckpoint(store, TABLE, short, DEFAULT_PARQUET_OPTIONS, NOW);
    const none = checkpointRows((await store.get(`${LOG}/${checkpointFileName(12)}`))!);
    expect(none.filter((row) => row.kind === "remove")).toEqual([]);
  });

  it("has Delta's checkpoint schema types, as an independent Parquet reader (DuckDB) sees them", async () => {
    await writeCheckpoint(store, TABLE, sampleState(), DEFAULT_PARQUET_OPTIONS, NOW);
    const file = join(root, LOG, checkpointFileName(12)).replaceAll("'", "''");
    const duck = await DuckDBInstance.create(":memory:");
    const connection = await duck.connect();
    try {
      const columns = Object.fromEntries(
        (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`))
          .getRowObjectsJson()
          .map((row) => [String(row.column_name), String(row.column_type)]),
      );
      expect(columns.protocol).toBe("STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)");
      expect(columns.txn).toBe('STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)');
      expect(columns.add).toBe(
        "STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))",
      );
      const adds = (
        await connection.runAndReadAll(
          `SELECT add.path AS path, add.partitionValues['day'] AS day, add.size AS size, add.dataChange AS dc FROM read_parquet('${file}') WHERE add IS NOT NULL ORDER BY path`,
        )
      ).getRowObjectsJson();
      expect(adds).toEqual([
        { path: "day=2026-01-14/a.parquet", day: "2026-01-14", size: "1234", dc: false },
        { path: "day=2026-01-15/b.parquet", day: "2026-01-15", size: "1234", dc: false },
        { path: "day=__HIVE_DEFAULT_PARTITION__/n.parquet", day: null, size: "1234", dc: false },
      ]);
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
  });

  it("replays to the state it was written from", async () => {
    const state = sampleState();
    await writeCheckpoint(store, TABLE, state, DEFAULT_PARQUET_OPTIONS, NOW);
    const read = await readTableState(store, TABLE);
    expect(read.version).toBe(12);
    expect(read.protocol).toEqual(state.protocol);
    expect(read.metadata).toEqual(state.metadata);
    expect([...read.txns.values()]).toEqual([...state.txns.values()]);
    expect([...read.files.values()]).toEqual(
      [...state.files.values()].map((file) => ({ ...file, dataChange: false })),
    );
    expect([...read.tombstones.keys()]).toEqual(["day=2026-01-13/fresh.parquet"]);
  });
});

describe("parseInterval", () => {
  it("reads Delta's interval durations in every unit, singular or plural; null otherwise", () => {
    expect(parseInterval("interval 1 week")).toBe(7 * DAY);
    expect(parseInterval("interval 30 days")).toBe(30 * DAY);
    expect(parseInterval("INTERVAL 2 HOURS")).toBe(2 * 3_600_000);
    expect(parseInterval("15 minutes")).toBe(15 * 60_000);
    expect(parseInterval("interval 10 seconds")).toBe(10_000);
    expect(parseInterval("interval 5 milliseconds")).toBe(5);
    expect(parseInterval(undefined)).toBeNull();
    expect(parseInterval("interval 1 fortnight")).toBeNull();
    expect(parseInterval("-1 day")).toBeNull();
  });
});
