/**
 * Reading a table's state from `_delta_log` on the local object store: action reconciliation, replay of JSON
 * commits, starting from a checkpoint (single- and multi-part, found by `_last_checkpoint` or by listing), and
 * the logs it refuses.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Action,
  type AddAction,
  checkpointFileName,
  commitFileName,
  serializeActions,
} from "../../src/delta/actions.js";
import { writeCheckpoint } from "../../src/delta/checkpoint.js";
import { DEFAULT_PARQUET_OPTIONS } from "../../src/delta/parquet.js";
import {
  LAST_CHECKPOINT,
  LOG_DIR,
  readNewCommits,
  readTableState,
  TableState,
} from "../../src/delta/state.js";
import type { LakeError } from "../../src/errors.js";
import type { LocalObjectStore } from "../../src/storage/local.js";
import { temporaryStore } from "./local-table.js";

const TABLE = "silver/events";
const LOG = `${TABLE}/${LOG_DIR}`;
const NOW = Date.UTC(2026, 0, 15);

const protocol: Action = { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
const metaData: Action = {
  metaData: {
    id: "5f0c9a7e-0000-4000-8000-000000000001",
    name: "silver.events",
    format: { provider: "parquet", options: {} },
    schemaString: '{"type":"struct","fields":[{"name":"id","type":"string","nullable":false,"metadata":{}}]}',
    partitionColumns: ["day"],
    configuration: { "delta.appendOnly": "false" },
    createdTime: NOW,
  },
};
function add(path: string, day: string | null = "2026-01-15"): AddAction {
  return {
    path,
    partitionValues: { day },
    size: 100 + path.length,
    modificationTime: NOW,
    dataChange: true,
    stats: '{"numRecords":3}',
    tags: { fingerprint: path },
  };
}
const remove = (path: string, deletionTimestamp = NOW): Action => ({
  remove: {
    path,
    deletionTimestamp,
    dataChange: true,
    extendedFileMetadata: true,
    partitionValues: { day: "2026-01-15" },
    size: 1,
  },
});
const txn = (appId: string, version: number): Action => ({ txn: { appId, version, lastUpdated: NOW } });

let store: LocalObjectStore;
let removeStore: () => Promise<void>;
beforeEach(async () => {
  ({ store, remove: removeStore } = await temporaryStore());
});
afterEach(async () => {
  await removeStore();
});

async function commit(version: number, actions: readonly Action[]): Promise<void> {
  expect(await store.putIfAbsent(`${LOG}/${commitFileName(version)}`, serializeActions(actions))).toBe(true);
}

/** A log of five commits: create, two appends, a replace and a token update. */
async function writeLog(): Promise<void> {
  await commit(0, [{ commitInfo: { operation: "CREATE TABLE" } }, protocol, metaData]);
  await commit(1, [txn("exporter", 1), { add: add("day=2026-01-15/a.parquet") }]);
  await commit(2, [txn("exporter", 2), { add: add("day=2026-01-16/b.parquet", "2026-01-16") }]);
  await commit(3, [remove("day=2026-01-15/a.parquet"), { add: add("day=2026-01-15/c.parquet") }]);
  await commit(4, [
    txn("exporter", 3),
    txn("backfill", 9),
    { add: add("day=__HIVE_DEFAULT_PARTITION__/d.parquet", null) },
  ]);
}

function summary(state: TableState) {
  return {
    version: state.version,
    protocol: state.protocol,
    metadataId: state.metadata?.id ?? null,
    files: [...state.files.keys()].sort(),
    tombstones: [...state.tombstones.keys()].sort(),
    txns: Object.fromEntries([...state.txns.values()].map((t) => [t.appId, t.version])),
  };
}

const EXPECTED = {
  version: 4,
  protocol: { minReaderVersion: 1, minWriterVersion: 2 },
  metadataId: "5f0c9a7e-0000-4000-8000-000000000001",
  files: ["day=2026-01-15/c.parquet", "day=2026-01-16/b.parquet", "day=__HIVE_DEFAULT_PARTITION__/d.parquet"],
  tombstones: ["day=2026-01-15/a.parquet"],
  txns: { exporter: 3, backfill: 9 },
};

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as LakeError).code;
  }
  return "resolved";
}

describe("TableState.apply", () => {
  it("reconciles actions: the last add or remove of a path wins, txns and metaData are replaced", () => {
    const state = new TableState();
    state.apply([protocol, metaData, { add: add("x") }, txn("a", 1)], 0);
    state.apply([remove("x"), txn("a", 2)], 1);
    expect(summary(state)).toMatchObject({ version: 1, files: [], tombstones: ["x"], txns: { a: 2 } });
    // Re-adding a removed path (a restore) clears its tombstone.
    state.apply([{ add: add("x") }, { protocol: { minReaderVersion: 1, minWriterVersion: 3 } }], 2);
    expect(summary(state)).toMatchObject({
      version: 2,
      files: ["x"],
      tombstones: [],
      protocol: { minWriterVersion: 3 },
    });
    // commitInfo and unknown actions change nothing but the version.
    state.apply([{ commitInfo: { operation: "OPTIMIZE" } }, { cdc: {} } as unknown as Action], 3);
    expect(summary(state)).toMatchObject({ version: 3, files: ["x"] });
  });
});

describe("readTableState", () => {
  it("is version -1 with nothing when no table exists", async () => {
    expect(summary(await readTableState(store, TABLE))).toEqual({
      version: -1,
      protocol: null,
      metadataId: null,
      files: [],
      tombstones: [],
      txns: {},
    });
  });

  it("replays the JSON commits in order", async () => {
    await writeLog();
    const state = await readTableState(store, TABLE);
    expect(summary(state)).toEqual(EXPECTED);
    expect(state.files.get("day=2026-01-16/b.parquet")).toEqual(
      add("day=2026-01-16/b.parquet", "2026-01-16"),
    );
    expect(state.metadata).toEqual((metaData as { metaData: unknown }).metaData);
  });

  it("starts from the checkpoint _last_checkpoint names: the commits before it are not read", async () => {
    await writeLog();
    // The state at version 3 (commits 0..3 only) as a checkpoint; then the JSON of 0..3 is dropped, so only the
    // checkpoint and commit 4 can give the table's state.
    const three = new TableState();
    for (let v = 0; v <= 3; v++) {
      const bytes = (await store.get(`${LOG}/${commitFileName(v)}`))!;
      three.apply(JSON.parse(`[${Buffer.from(bytes).toString().trim().split("\n").join(",")}]`), v);
    }
    await writeCheckpoint(store, TABLE, three, DEFAULT_PARQUET_OPTIONS, NOW);
    for (let v = 0; v <= 3; v++) await store.delete(`${LOG}/${commitFileName(v)}`);

    expect(await store.get(`${LOG}/${LAST_CHECKPOINT}`)).not.toBeNull();
    // With a valid _last_checkpoint the log is never listed (listing is the slow path on Blob storage).
    let listed = 0;
    const counting = Object.assign(Object.create(store) as LocalObjectStore, {
      list: (prefix: string) => {
        listed++;
        return store.list(prefix);
      },
    });
    const fromCheckpoint = await readTableState(counting, TABLE);
    expect(listed).toBe(0);
    expect(summary(fromCheckpoint)).toEqual(EXPECTED);
    // Actions come back from Parquet with their values (maps, longs) as written.
    expect(fromCheckpoint.files.get("day=2026-01-16/b.parquet")).toMatchObject({
      path: "day=2026-01-16/b.parquet",
      partitionValues: { day: "2026-01-16" },
      size: add("day=2026-01-16/b.parquet").size,
      modificationTime: NOW,
      stats: '{"numRecords":3}',
      tags: { fingerprint: "day=2026-01-16/b.parquet" },
    });
    expect(fromCheckpoint.metadata).toMatchObject({
      id: "5f0c9a7e-0000-4000-8000-000000000001",
      partitionColumns: ["day"],
      configuration: { "delta.appendOnly": "false" },
      createdTime: NOW,
    });
  });

  it("finds the newest complete checkpoint by listing when _last_checkpoint is missing or unreadable", async () => {
    await writeLog();
    const state = await readTableState(store, TABLE);
    await writeCheckpoint(store, TABLE, state, DEFAULT_PARQUET_OPTIONS, NOW);
    for (let v = 0; v <= 4; v++) await store.delete(`${LOG}/${commitFileName(v)}`);
    await commit(5, [txn("exporter", 4)]);

    await store.put(`${LOG}/${LAST_CHECKPOINT}`, Buffer.from("{torn"));
    expect(summary(await readTableState(store, TABLE))).toEqual({
      ...EXPECTED,
      version: 5,
      txns: { exporter: 4, backfill: 9 },
    });
    await store.delete(`${LOG}/${LAST_CHECKPOINT}`);
    expect((await readTableState(store, TABLE)).version).toBe(5);
    // A stale hint (a checkpoint that is gone) falls back to listing as well.
    await store.put(`${LOG}/${LAST_CHECKPOINT}`, Buffer.from('{"version":2,"size":3}'));
    expect((await readTableState(store, TABLE)).version).toBe(5);
  });

  it("reads a multi-part checkpoint, and only when all its parts are there", async () => {
    await writeLog();
    const full = await readTableState(store, TABLE);
    // Two parts: protocol/metaData/txns in the first, the files in the second.
    const first = new TableState();
    first.apply([protocol, metaData, ...[...full.txns.values()].map((t) => ({ txn: t }))], 4);
    const second = new TableState();
    second.apply(
      [
        ...[...full.files.values()].map((a) => ({ add: a })),
        ...[...full.tombstones.values()].map((r) => ({ remove: r })),
      ],
      4,
    );
    const parts: Uint8Array[] = [];
    for (const part of [first, second]) {
      await writeCheckpoint(store, TABLE, part, DEFAULT_PARQUET_OPTIONS, NOW);
      parts.push((await store.get(`${LOG}/${checkpointFileName(4)}`))!);
    }
    await store.delete(`${LOG}/${checkpointFileName(4)}`);
    const partName = (i: number) =>
      `${LOG}/${"4".padStart(20, "0")}.checkpoint.${String(i).padStart(10, "0")}.0000000002.parquet`;
    await store.put(partName(1), parts[0]!);
    await store.put(partName(2), parts[1]!);
    await store.put(`${LOG}/${LAST_CHECKPOINT}`, Buffer.from('{"version":4,"parts":2}'));
    for (let v = 0; v <= 4; v++) await store.delete(`${LOG}/${commitFileName(v)}`);

    expect(summary(await readTableState(store, TABLE))).toEqual(EXPECTED);
    // Listing finds it too; with a part missing it is no checkpoint, and the log no longer starts at 0.
    await store.delete(`${LOG}/${LAST_CHECKPOINT}`);
    expect(summary(await readTableState(store, TABLE))).toEqual(EXPECTED);
    await commit(5, [txn("exporter", 4)]);
    await store.delete(partName(2));
    expect(await code(readTableState(store, TABLE))).toBe("ADP_LAKE_LOG_CORRUPT");
  });

  it("refuses a log that starts after version 0 without a checkpoint, or has no metaData/protocol", async () => {
    await writeLog();
    await store.delete(`${LOG}/${commitFileName(0)}`);
    expect(await code(readTableState(store, TABLE))).toBe("ADP_LAKE_LOG_CORRUPT");

    const other = "other/table";
    await store.putIfAbsent(
      `${other}/${LOG_DIR}/${commitFileName(0)}`,
      serializeActions([{ add: add("x") }]),
    );
    expect(await code(readTableState(store, other))).toBe("ADP_LAKE_LOG_CORRUPT");

    const torn = "torn/table";
    await store.putIfAbsent(`${torn}/${LOG_DIR}/${commitFileName(0)}`, Buffer.from('{"protocol":{"minRead'));
    expect(await code(readTableState(store, torn))).toBe("ADP_LAKE_LOG_CORRUPT");
  });
});

describe("readNewCommits", () => {
  it("reads only the versions after the state's, stops at the first missing one and returns what it read", async () => {
    await commit(0, [protocol, metaData]);
    await commit(1, [{ add: add("a") }]);
    const state = await readTableState(store, TABLE);
    expect(state.version).toBe(1);
    expect(await readNewCommits(store, TABLE, state)).toEqual([]);

    await commit(2, [{ add: add("b") }]);
    await commit(3, [remove("a")]);
    await store.putIfAbsent(`${LOG}/${commitFileName(5)}`, serializeActions([{ add: add("after-a-gap") }]));
    const read = await readNewCommits(store, TABLE, state);
    expect(read).toEqual([
      { version: 2, actions: [{ add: add("b") }] },
      { version: 3, actions: [remove("a")] },
    ]);
    expect(summary(state)).toMatchObject({ version: 3, files: ["b"], tombstones: ["a"] });
  });
});
