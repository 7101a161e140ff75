import { LakeError } from "../errors.js";
import type { PartitionValues } from "./partitions.js";

/** The actions this writer reads and writes (PROTOCOL.md "Actions"); unknown actions and fields are ignored. */
export interface ProtocolAction {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

export interface MetadataAction {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly format: { readonly provider: string; readonly options: Readonly<Record<string, string>> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly createdTime?: number | null;
}

export interface AddAction {
  readonly path: string;
  readonly partitionValues: PartitionValues;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  readonly stats?: string | null;
  readonly tags?: Readonly<Record<string, string>> | null;
  /** Present when another engine added deletion vectors; this writer refuses such tables (protocol check). */
  readonly deletionVector?: unknown;
}

export interface RemoveAction {
  readonly path: string;
  readonly deletionTimestamp: number;
  readonly dataChange: boolean;
  readonly extendedFileMetadata?: boolean;
  readonly partitionValues?: PartitionValues;
  readonly size?: number;
}

export interface TxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number;
}

export type Action =
  | { readonly protocol: ProtocolAction }
  | { readonly metaData: MetadataAction }
  | { readonly add: AddAction }
  | { readonly remove: RemoveAction }
  | { readonly txn: TxnAction }
  | { readonly commitInfo: Readonly<Record<string, unknown>> };

/** `_delta_log/00000000000000000042.json` */
export function commitFileName(version: number): string {
  return `${String(version).padStart(20, "0")}.json`;
}

export function checkpointFileName(version: number): string {
  return `${String(version).padStart(20, "0")}.checkpoint.parquet`;
}

const COMMIT_FILE = /^(\d{20})\.json$/;
const CHECKPOINT_FILE = /^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$/;

export function parseLogFileName(
  name: string,
):
  | { kind: "commit"; version: number }
  | { kind: "checkpoint"; version: number; part: number; parts: number }
  | null {
  const commit = COMMIT_FILE.exec(name);
  if (commit) return { kind: "commit", version: Number(commit[1]) };
  const checkpoint = CHECKPOINT_FILE.exec(name);
  if (checkpoint) {
    return {
      kind: "checkpoint",
      version: Number(checkpoint[1]),
      part: checkpoint[2] === undefined ? 1 : Number(checkpoint[2]),
      parts: checkpoint[3] === undefined ? 1 : Number(checkpoint[3]),
    };
  }
  return null;
}

/** A commit file's bytes: one action per line (newline-delimited JSON). */
export function serializeActions(actions: readonly Action[]): Uint8Array {
  return Buffer.from(`${actions.map((action) => JSON.stringify(action)).join("\n")}\n`, "utf8");
}

/** The actions of a commit file. */
export function parseActions(bytes: Uint8Array, version: number): Action[] {
  const out: Action[] = [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8");
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as Action);
    } catch (error) {
      throw new LakeError("log_corrupt", `version ${version}: a line is not JSON`, { cause: error });
    }
  }
  return out;
}
