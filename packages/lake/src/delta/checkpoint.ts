import { Bool, Field, Int32, Int64, List, Map_, Struct, Table, Utf8, vectorFromArray } from "apache-arrow";
import { joinPath, type ObjectStore } from "../storage/object-store.js";
import { checkpointFileName } from "./actions.js";
import { type ParquetOptions, writeParquet } from "./parquet.js";
import { LAST_CHECKPOINT, LOG_DIR, type TableState } from "./state.js";

const DEFAULT_TOMBSTONE_RETENTION_MS = 7 * 86_400_000;

const string = () => new Utf8();
const long = () => new Int64();
const stringMap = () =>
  new Map_<Utf8, Utf8>(
    new Field(
      "key_value",
      new Struct<{ key: Utf8; value: Utf8 }>([
        new Field("key", string(), false),
        new Field("value", string(), true),
      ]),
      false,
    ),
    false,
  );
const field = (name: string, type: ConstructorParameters<typeof Field>[1]) => new Field(name, type, true);

// PROTOCOL.md "Checkpoint Schema" (the fields this writer knows; readers treat missing optional fields as null).
const TXN = new Struct([field("appId", string()), field("version", long()), field("lastUpdated", long())]);
const ADD = new Struct([
  field("path", string()),
  field("partitionValues", stringMap()),
  field("size", long()),
  field("modificationTime", long()),
  field("dataChange", new Bool()),
  field("stats", string()),
  field("tags", stringMap()),
]);
const REMOVE = new Struct([
  field("path", string()),
  field("deletionTimestamp", long()),
  field("dataChange", new Bool()),
  field("extendedFileMetadata", new Bool()),
  field("partitionValues", stringMap()),
  field("size", long()),
]);
const METADATA = new Struct([
  field("id", string()),
  field("name", string()),
  field("description", string()),
  field("format", new Struct([field("provider", string()), field("options", stringMap())])),
  field("schemaString", string()),
  field("partitionColumns", new List(new Field("element", string(), true))),
  field("configuration", stringMap()),
  field("createdTime", long()),
]);
const PROTOCOL = new Struct([field("minReaderVersion", new Int32()), field("minWriterVersion", new Int32())]);

type Cell = Record<string, unknown> | null;
const asMap = (record: Readonly<Record<string, string | null>> | null | undefined) =>
  record === null || record === undefined ? null : new Map(Object.entries(record));
const asLong = (n: number | null | undefined) => (n === null || n === undefined ? null : BigInt(n));

/** Parses Delta's "interval 1 week" style durations (the units Delta accepts), in ms; null when unreadable. */
export function parseInterval(text: string | undefined): number | null {
  if (text === undefined) return null;
  const match = /^\s*(?:interval\s+)?(\d+)\s*(millisecond|second|minute|hour|day|week)s?\s*$/i.exec(text);
  if (match === null) return null;
  const unit = { millisecond: 1, second: 1e3, minute: 6e4, hour: 3.6e6, day: 8.64e7, week: 6.048e8 }[
    match[2]!.toLowerCase() as "day"
  ];
  return Number(match[1]) * unit;
}

export interface CheckpointResult {
  readonly version: number;
  readonly actions: number;
  readonly bytes: number;
}

/**
 * Writes the classic single-file Parquet checkpoint of `state` (protocol, metaData, txns, active files and
 * unexpired tombstones) and then `_last_checkpoint`. Readers start from the newest checkpoint instead of
 * replaying every JSON commit. Another writer producing the same checkpoint is harmless: its content is the same.
 */
export async function writeCheckpoint(
  store: ObjectStore,
  tablePath: string,
  state: TableState,
  options: ParquetOptions,
  nowMs: number,
): Promise<CheckpointResult> {
  const retention =
    parseInterval(state.metadata?.configuration["delta.deletedFileRetentionDuration"]) ??
    DEFAULT_TOMBSTONE_RETENTION_MS;
  const rows: { protocol: Cell; metaData: Cell; txn: Cell; add: Cell; remove: Cell }[] = [];
  const empty = { protocol: null, metaData: null, txn: null, add: null, remove: null };
  if (state.protocol !== null) {
    rows.push({
      ...empty,
      protocol: {
        minReaderVersion: state.protocol.minReaderVersion,
        minWriterVersion: state.protocol.minWriterVersion,
      },
    });
  }
  if (state.metadata !== null) {
    const m = state.metadata;
    rows.push({
      ...empty,
      metaData: {
        id: m.id,
        name: m.name ?? null,
        description: m.description ?? null,
        format: { provider: m.format.provider, options: asMap(m.format.options) },
        schemaString: m.schemaString,
        partitionColumns: [...m.partitionColumns],
        configuration: asMap(m.configuration),
        createdTime: asLong(m.createdTime),
      },
    });
  }
  for (const txn of state.txns.values()) {
    rows.push({
      ...empty,
      txn: { appId: txn.appId, version: BigInt(txn.version), lastUpdated: asLong(txn.lastUpdated) },
    });
  }
  let addFiles = 0;
  for (const add of state.files.values()) {
    addFiles++;
    rows.push({
      ...empty,
      add: {
        path: add.path,
        partitionValues: asMap(add.partitionValues),
        size: BigInt(add.size),
        modificationTime: BigInt(add.modificationTime),
        // A checkpoint re-states files, it does not change data.
        dataChange: false,
        stats: add.stats ?? null,
        tags: asMap(add.tags),
      },
    });
  }
  for (const remove of state.tombstones.values()) {
    if (remove.deletionTimestamp + retention < nowMs) continue;
    rows.push({
      ...empty,
      remove: {
        path: remove.path,
        deletionTimestamp: BigInt(remove.deletionTimestamp),
        dataChange: false,
        extendedFileMetadata: remove.extendedFileMetadata ?? null,
        partitionValues: asMap(remove.partitionValues),
        size: asLong(remove.size),
      },
    });
  }
  const table = new Table({
    protocol: vectorFromArray(
      rows.map((r) => r.protocol),
      PROTOCOL,
    ),
    metaData: vectorFromArray(
      rows.map((r) => r.metaData),
      METADATA,
    ),
    txn: vectorFromArray(
      rows.map((r) => r.txn),
      TXN,
    ),
    add: vectorFromArray(
      rows.map((r) => r.add),
      ADD,
    ),
    remove: vectorFromArray(
      rows.map((r) => r.remove),
      REMOVE,
    ),
  });
  const bytes = writeParquet(table, options);
  const log = joinPath(tablePath, LOG_DIR);
  await store.put(joinPath(log, checkpointFileName(state.version)), bytes);
  const last = {
    version: state.version,
    size: rows.length,
    sizeInBytes: bytes.length,
    numOfAddFiles: addFiles,
  };
  await store.put(joinPath(log, LAST_CHECKPOINT), Buffer.from(JSON.stringify(last), "utf8"));
  return { version: state.version, actions: rows.length, bytes: bytes.length };
}
