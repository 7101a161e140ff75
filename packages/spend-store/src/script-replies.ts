/**
 * Typed decoders of the Lua scripts' replies (each script's header documents its Output). A reply of
 * another shape (a script changed without its caller) fails here, naming the script, instead of turning
 * into `undefined` further on. Checked by hand rather than with a schema library: apply_slice replies are
 * decoded once per advertiser of every batch.
 */

import { SpendStoreError } from "./errors.js";
import type { ScriptName } from "./scripts.js";
import type { ResetPositionsOutcome } from "./store-types.js";

/**
 * apply_slice status: 1 done, 0 unknown advertiser left unknown, -1 the hash or the guard is in another epoch,
 * -2 the guard is missing (Redis, or this slot's node, lost the state).
 */
export type ApplySliceStatus = "applied" | "left_unknown" | "epoch_refused" | "guard_missing";

export interface ApplySliceReply {
  readonly status: ApplySliceStatus;
  /** Events that changed spend or budget. */
  readonly applied: number;
  /** Clicks whose click_id was already counted in their period. */
  readonly duplicates: number;
  /** Events at or below the offset the hash already applied for their partition. */
  readonly replayed: number;
  /** Clicks for a period older than the current one. */
  readonly closedPeriod: number;
  /** can_serve changed (or the hash was created). */
  readonly flipped: boolean;
  /** can_serve after the call; null when the advertiser is unknown and was not created. */
  readonly canServe: boolean | null;
}

/** commit_offsets: 1 recorded, 0 the sentinel is missing, -1 the epoch changed, -2 the generation changed. */
export type CommitOffsetsReply = "recorded" | "state_lost" | "epoch_changed" | "generation_changed";

type SevenInts = [number, number, number, number, number, number, number];

const APPLY_SLICE_STATUS = new Map<number, ApplySliceStatus>([
  [1, "applied"],
  [0, "left_unknown"],
  [-1, "epoch_refused"],
  [-2, "guard_missing"],
]);
const CAN_SERVE = new Map<number, boolean | null>([
  [1, true],
  [0, false],
  [-1, null],
]);
const COMMIT_OFFSETS = new Map<number, CommitOffsetsReply>([
  [1, "recorded"],
  [0, "state_lost"],
  [-1, "epoch_changed"],
  [-2, "generation_changed"],
]);
const RESET_OFFSETS = new Map<number, ResetPositionsOutcome>([
  [1, "moved"],
  [2, "already_moved"],
  [0, "state_lost"],
  [-2, "generation_moved"],
]);
const DONE_OR_NOT = new Map<number, boolean>([
  [1, true],
  [0, false],
]);

/** apply_slice: { status, applied, duplicates, replayed, closed_period, flipped, can_serve }. */
export function decodeApplySlice(reply: unknown): ApplySliceReply {
  const expected = "7 integers {1|0|-1|-2, applied, duplicates, replayed, closed_period, 0|1, 1|0|-1}";
  if (!Array.isArray(reply) || reply.length !== 7 || !reply.every(Number.isSafeInteger))
    unexpected("apply_slice", reply, expected);
  const [statusCode, applied, duplicates, replayed, closedPeriod, flipped, canServeCode] = reply as SevenInts;
  const status = APPLY_SLICE_STATUS.get(statusCode);
  const canServe = CAN_SERVE.get(canServeCode);
  const counts = [applied, duplicates, replayed, closedPeriod];
  if (
    status === undefined ||
    canServe === undefined ||
    (flipped !== 0 && flipped !== 1) ||
    counts.some((n) => n < 0)
  )
    unexpected("apply_slice", reply, expected);
  return { status, applied, duplicates, replayed, closedPeriod, flipped: flipped === 1, canServe };
}

/** commit_offsets: 1, 0, -1 or -2. */
export function decodeCommitOffsets(reply: unknown): CommitOffsetsReply {
  return codeOf("commit_offsets", reply, COMMIT_OFFSETS);
}

/** reset_offsets: 1 moved, 2 already moved, 0 state lost, -2 the generation moved on. */
export function decodeResetOffsets(reply: unknown): ResetPositionsOutcome {
  return codeOf("reset_offsets", reply, RESET_OFFSETS);
}

/** record_detection: whether the finding was recorded (or cleared). */
export function decodeRecordDetection(reply: unknown): boolean {
  return codeOf("record_detection", reply, DONE_OR_NOT);
}

/** rebuild_lock: whether the caller owned the lock (and refreshed or released it). */
export function decodeRebuildLock(reply: unknown): boolean {
  return codeOf("rebuild_lock", reply, DONE_OR_NOT);
}

/** drop_sentinel: whether the sentinel was removed. */
export function decodeDropSentinel(reply: unknown): boolean {
  return codeOf("drop_sentinel", reply, DONE_OR_NOT);
}

/** restore_advertiser: the number of click ids added to the dedup sets. */
export function decodeRestoreAdvertiser(reply: unknown): number {
  if (!isCount(reply)) unexpected("restore_advertiser", reply, "a non-negative integer");
  return reply;
}

function codeOf<T>(script: ScriptName, reply: unknown, meanings: ReadonlyMap<number, T>): T {
  const meaning = typeof reply === "number" ? meanings.get(reply) : undefined;
  if (meaning === undefined) unexpected(script, reply, `one of ${[...meanings.keys()].join(", ")}`);
  return meaning;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function unexpected(script: ScriptName, reply: unknown, expected: string): never {
  throw new SpendStoreError("redis_reply", `${script}.lua replied ${shown(reply)}, expected ${expected}`);
}

function shown(reply: unknown): string {
  const text = reply === undefined ? "nothing" : (JSON.stringify(reply) ?? String(reply));
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
