import { Vector } from "apache-arrow";
import { LakeError } from "../errors.js";
import { joinPath, type ObjectStore } from "../storage/object-store.js";
import {
  type Action,
  type AddAction,
  checkpointFileName,
  commitFileName,
  type MetadataAction,
  type ProtocolAction,
  parseActions,
  parseLogFileName,
  type RemoveAction,
  type TxnAction,
} from "./actions.js";
import { readParquet } from "./parquet.js";

export const LOG_DIR = "_delta_log";
export const LAST_CHECKPOINT = "_last_checkpoint";

/** The state of a table at one version: what readers see (PROTOCOL.md "Action Reconciliation"). */
export class TableState {
  version = -1;
  protocol: ProtocolAction | null = null;
  metadata: MetadataAction | null = null;
  /** Active files by log path. */
  readonly files = new Map<string, AddAction>();
  /** Removed files by log path (tombstones, kept for VACUUM until they expire). */
  readonly tombstones = new Map<string, RemoveAction>();
  readonly txns = new Map<string, TxnAction>();

  apply(actions: readonly Action[], version: number): void {
    for (const action of actions) {
      if ("add" in action) {
        this.files.set(action.add.path, action.add);
        this.tombstones.delete(action.add.path);
      } else if ("remove" in action) {
        this.files.delete(action.remove.path);
        this.tombstones.set(action.remove.path, action.remove);
      } else if ("txn" in action) {
        this.txns.set(action.txn.appId, action.txn);
      } else if ("metaData" in action) {
        this.metadata = action.metaData;
      } else if ("protocol" in action) {
        this.protocol = action.protocol;
      }
    }
    this.version = version;
  }
}

/** A commit read while bringing a state up to date (for conflict checks). */
export interface ReadCommit {
  readonly version: number;
  readonly actions: readonly Action[];
}

/** Arrow values of a checkpoint row as plain JSON-like values (int64 → number, maps → objects). */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "object") return value;
  if (value instanceof Vector) return [...value].map(plain);
  if (value instanceof Uint8Array) return value;
  const json =
    (value as { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? (value as Record<string, unknown>);
  return Object.fromEntries(Object.entries(json).map(([key, v]) => [key, plain(v)]));
}

const ACTION_COLUMNS = ["protocol", "metaData", "txn", "add", "remove"] as const;

async function readCheckpoint(
  store: ObjectStore,
  log: string,
  version: number,
  parts: number,
): Promise<Action[] | null> {
  const names =
    parts <= 1
      ? [checkpointFileName(version)]
      : Array.from(
          { length: parts },
          (_, i) =>
            `${String(version).padStart(20, "0")}.checkpoint.${String(i + 1).padStart(10, "0")}.${String(parts).padStart(10, "0")}.parquet`,
        );
  const actions: Action[] = [];
  for (const name of names) {
    const bytes = await store.get(joinPath(log, name));
    if (bytes === null) return null;
    const table = readParquet(bytes);
    const columns = ACTION_COLUMNS.map((name) => [name, table.getChild(name)] as const);
    for (let row = 0; row < table.numRows; row++) {
      for (const [name, column] of columns) {
        const value = column?.get(row);
        if (value !== null && value !== undefined)
          actions.push({ [name]: plain(value) } as unknown as Action);
      }
    }
  }
  return actions;
}

async function readCommit(store: ObjectStore, log: string, version: number): Promise<Action[] | null> {
  const bytes = await store.get(joinPath(log, commitFileName(version)));
  return bytes === null ? null : parseActions(bytes, version);
}

/**
 * Brings `state` up to the latest version by reading commits after it one by one until one is missing
 * (commit versions are contiguous), and returns what it read. Reading by version instead of listing keeps
 * this cheap however long the log grows.
 */
export async function readNewCommits(
  store: ObjectStore,
  tablePath: string,
  state: TableState,
): Promise<ReadCommit[]> {
  const log = joinPath(tablePath, LOG_DIR);
  const read: ReadCommit[] = [];
  for (let version = state.version + 1; ; version++) {
    const actions = await readCommit(store, log, version);
    if (actions === null) break;
    state.apply(actions, version);
    read.push({ version, actions });
  }
  return read;
}

interface CheckpointHint {
  readonly version: number;
  readonly parts: number;
}

async function lastCheckpoint(store: ObjectStore, log: string): Promise<CheckpointHint | null> {
  const bytes = await store.get(joinPath(log, LAST_CHECKPOINT));
  if (bytes === null) return null;
  try {
    const json = JSON.parse(Buffer.from(bytes).toString("utf8")) as { version?: unknown; parts?: unknown };
    if (typeof json.version !== "number") return null;
    return { version: json.version, parts: typeof json.parts === "number" ? json.parts : 1 };
  } catch {
    return null; // a torn or foreign _last_checkpoint is only a hint: fall back to listing
  }
}

/** The newest complete checkpoint by listing the log (when _last_checkpoint is missing or stale). */
async function listedCheckpoint(
  store: ObjectStore,
  log: string,
): Promise<{ hint: CheckpointHint | null; first: number | null }> {
  const objects = await store.list(`${log}/`);
  const parts = new Map<string, Set<number>>();
  let best: CheckpointHint | null = null;
  let first: number | null = null;
  for (const object of objects) {
    const parsed = parseLogFileName(object.path.slice(log.length + 1));
    if (parsed === null) continue;
    if (parsed.kind === "commit") {
      if (first === null || parsed.version < first) first = parsed.version;
      continue;
    }
    const key = `${parsed.version}/${parsed.parts}`;
    const seen = parts.get(key) ?? new Set<number>();
    seen.add(parsed.part);
    parts.set(key, seen);
    if (seen.size === parsed.parts && (best === null || parsed.version > best.version)) {
      best = { version: parsed.version, parts: parsed.parts };
    }
  }
  return { hint: best, first };
}

/** The latest state of the table at `tablePath` (version -1 when no table exists there). */
export async function readTableState(store: ObjectStore, tablePath: string): Promise<TableState> {
  const log = joinPath(tablePath, LOG_DIR);
  const state = new TableState();
  let hint = await lastCheckpoint(store, log);
  let checkpoint = hint === null ? null : await readCheckpoint(store, log, hint.version, hint.parts);
  if (checkpoint === null) {
    const listed = await listedCheckpoint(store, log);
    hint = listed.hint;
    checkpoint = hint === null ? null : await readCheckpoint(store, log, hint.version, hint.parts);
    if (checkpoint === null && listed.first !== null && listed.first > 0) {
      throw new LakeError(
        "log_corrupt",
        `${tablePath}: the log starts at version ${listed.first} without a checkpoint`,
      );
    }
  }
  if (checkpoint !== null && hint !== null) state.apply(checkpoint, hint.version);
  await readNewCommits(store, tablePath, state);
  if (state.version >= 0 && (state.metadata === null || state.protocol === null)) {
    throw new LakeError("log_corrupt", `${tablePath}: no metaData/protocol action in the log`);
  }
  return state;
}
