/**
 * The meta hash of a topic (`<prefix>meta:{<topic>}`): the sentinel (created_at), the state epoch, the topic
 * generation, the recorded positions (`o:<partition>`) and what the tracker found about topic resets.
 */
import { SpendStoreError } from "./errors.js";
import { toInt } from "./redis-values.js";
import { decodeRecordDetection, decodeResetOffsets } from "./script-replies.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import { writeGuards } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";
import type {
  MetaState,
  PartitionOffset,
  ResetPositionsOutcome,
  TrackerResetDetection,
} from "./store-types.js";

/** The step of a topic reset that moves the tracker's positions (reset_offsets.lua). */
export interface ResetPositionsStep {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly resetId: string;
  readonly positions: readonly PartitionOffset[];
}

/** The sentinel and recorded offsets; null when the sentinel is missing. */
export async function readMeta(context: StoreContext): Promise<MetaState | null> {
  const fields = await context.redis.hgetall(context.keys.meta(context.topic));
  const createdAtMs = toInt(fields.created_at);
  const epoch = toInt(fields.epoch);
  if (createdAtMs === null || epoch === null) return null;
  const offsets: PartitionOffset[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (!field.startsWith("o:")) continue;
    const partition = Number(field.slice(2));
    const offset = toInt(value);
    const watermarkMs = toInt(fields[`w:${partition}`]);
    if (Number.isInteger(partition) && offset !== null) {
      offsets.push(watermarkMs === null ? { partition, offset } : { partition, offset, watermarkMs });
    }
  }
  offsets.sort((a, b) => a.partition - b.partition);
  const resetAtMs = toInt(fields.reset_at);
  return {
    epoch,
    createdAtMs,
    generation: toInt(fields.generation) ?? 0,
    offsets,
    resetDetected: parseDetection(fields.reset_detected),
    lastReset: resetAtMs === null ? null : { id: fields.reset_id ?? "", atMs: resetAtMs },
  };
}

/** Creates the sentinel for a fresh start (no state anywhere yet); safe to race with other instances. */
export async function createSentinel(context: StoreContext): Promise<MetaState> {
  const now = context.clock();
  const key = context.keys.meta(context.topic);
  if (context.clustered) {
    // The slot guards before the sentinel: no tracker adopts the state before every slot can check it.
    await context.redis.hsetnx(key, "epoch", now);
    const epoch = toInt(await context.redis.hget(key, "epoch"));
    if (epoch === null) throw new SpendStoreError("redis_reply", "the meta hash has no epoch after HSETNX");
    await writeGuards(context, epoch);
  }
  await context.redis.multi().hsetnx(key, "created_at", now).hsetnx(key, "epoch", now).exec();
  const meta = await readMeta(context);
  if (meta === null)
    throw new SpendStoreError("state_lost", "the sentinel vanished right after it was created");
  return meta;
}

/** Records (or, with null, clears) a detected topic reset while the hash is in `generation` (record_detection.lua). */
export async function recordResetDetection(
  context: StoreContext,
  detection: TrackerResetDetection | null,
  generation: number,
): Promise<boolean> {
  const replies = await runScripts(context.redis, [
    evalsha([
      luaScript("record_detection").sha,
      1,
      context.keys.meta(context.topic),
      generation,
      detection === null ? "" : JSON.stringify(detection),
    ]),
  ]);
  return decodeRecordDetection(replyValue(replies, 0));
}

/** Moves the recorded positions from `step.fromGeneration` only (reset_offsets.lua). */
export async function resetPositions(
  context: StoreContext,
  step: ResetPositionsStep,
): Promise<ResetPositionsOutcome> {
  const args: (string | number)[] = [
    luaScript("reset_offsets").sha,
    1,
    context.keys.meta(context.topic),
    step.fromGeneration,
    step.toGeneration,
    step.resetId,
    context.clock(),
  ];
  for (const { partition, offset } of step.positions) args.push(partition, offset);
  const replies = await runScripts(context.redis, [evalsha(args)]);
  return decodeResetOffsets(replyValue(replies, 0));
}

function parseDetection(text: string | undefined): TrackerResetDetection | null {
  if (text === undefined || text === "") return null;
  try {
    const value = JSON.parse(text) as TrackerResetDetection;
    return Array.isArray(value.partitions) ? value : null;
  } catch {
    return null;
  }
}
