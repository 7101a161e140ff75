import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Action } from "../../src/delta/actions.js";
import { commitFileName, parseActions } from "../../src/delta/actions.js";
import { types } from "../../src/delta/schema.js";
import { LOG_DIR } from "../../src/delta/state.js";
import type { TableSpec } from "../../src/lake.js";
import { LocalObjectStore } from "../../src/storage/local.js";

/** A LocalObjectStore on a fresh temporary directory; `remove()` deletes it. */
export async function temporaryStore(): Promise<{
  root: string;
  store: LocalObjectStore;
  remove: () => Promise<void>;
}> {
  const root = await mkdtemp(join(tmpdir(), "adpipe-delta-"));
  return {
    root,
    store: new LocalObjectStore(root),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** A small table: `day` partitions it, `amount` is a decimal, `note` nullable. */
export const SPEND_SPEC: TableSpec = {
  name: "test.spend",
  path: "gold/spend",
  columns: [
    { name: "advertiser_id", type: types.string(), nullable: false },
    { name: "day", type: types.string(), nullable: true },
    { name: "amount", type: types.decimal(20, 6), nullable: false },
    { name: "clicks", type: types.long(), nullable: false },
    { name: "note", type: types.string(), nullable: true },
  ],
  partitionColumns: ["day"],
  description: "spend per advertiser and day",
  configuration: { "delta.checkpoint.writeStatsAsJson": "true" },
};

export function spendRow(advertiserId: string, day: string | null, amountMicros: bigint, clicks = 1n) {
  return { advertiser_id: advertiserId, day, amount: amountMicros, clicks, note: null };
}

/** The actions of commit `version` as written on disk (null when the file does not exist). */
export async function commitActions(store: LocalObjectStore, tablePath: string, version: number) {
  const bytes = await store.get(`${tablePath}/${LOG_DIR}/${commitFileName(version)}`);
  return bytes === null ? null : parseActions(bytes, version);
}

/** File names in the table's _delta_log (hidden temporaries excluded), sorted. */
export async function logFiles(root: string, tablePath: string): Promise<string[]> {
  return (await readdir(join(root, tablePath, LOG_DIR))).filter((name) => !name.startsWith(".")).sort();
}

/** Every Parquet data file under the table folder (paths relative to it), sorted. */
export async function dataFiles(root: string, tablePath: string): Promise<string[]> {
  const entries = await readdir(join(root, tablePath), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".parquet") && !entry.name.startsWith("."))
    .map((entry) => join(entry.parentPath, entry.name).slice(join(root, tablePath).length + 1))
    .filter((path) => !path.startsWith(`${LOG_DIR}/`))
    .sort();
}

/** The one action of each kind in a commit (throws when absent), for terse assertions. */
export function only<K extends "commitInfo" | "protocol" | "metaData">(
  actions: readonly Action[],
  kind: K,
): Extract<Action, Record<K, unknown>>[K] {
  const found = actions.filter((action) => kind in action);
  if (found.length !== 1) throw new Error(`expected one ${kind} action, found ${found.length}`);
  return (found[0] as Record<K, unknown>)[kind] as Extract<Action, Record<K, unknown>>[K];
}

export function actionsOf<K extends "add" | "remove" | "txn">(
  actions: readonly Action[],
  kind: K,
): Extract<Action, Record<K, unknown>>[K][] {
  return actions
    .filter((action) => kind in action)
    .map((action) => (action as Record<K, unknown>)[kind] as Extract<Action, Record<K, unknown>>[K]);
}
