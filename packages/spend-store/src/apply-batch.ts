import { clickPeriodOf } from "@adpipe/core";
import { calendarArgument } from "./calendars.js";
import { SpendStoreError } from "./errors.js";
import { readMeta } from "./meta-hash.js";
import { type CommitOffsetsReply, decodeApplySlice, decodeCommitOffsets } from "./script-replies.js";
import { evalsha, type PipelineReply, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import { applySliceArgs, type SliceCall, type SliceWriter } from "./slice-call.js";
import type { SliceBatch } from "./slices.js";
import { dropSentinel } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";
import type { BatchOutcome, BatchStatus, PartitionOffset, ServingFlip } from "./store-types.js";

/** The writer of a batch: the epoch and topic generation the tracker consumed it under. */
export interface BatchWriter {
  readonly epoch: number;
  readonly generation: number;
}

/**
 * Applies one consumed batch in ONE pipelined round trip (one per node, then the commit, on a Redis Cluster):
 * one apply_slice call per advertiser, then commit_offsets with the next offset of every partition in the batch
 * (also partitions whose records carried no spend). Records must have been added in offset order per partition.
 * A slice refused for a missing guard makes the batch state_lost and drops the sentinel.
 */
export async function applySlices(
  context: StoreContext,
  batch: SliceBatch,
  progress: readonly PartitionOffset[],
  writer: BatchWriter,
): Promise<BatchOutcome> {
  const nowMs = context.clock();
  const sliceWriter: SliceWriter = { epoch: writer.epoch, nowMs, channel: context.channel };
  const slices: SliceCall[] = [];
  const defaults = batch.defaults;
  for (const slice of batch.slices.values()) {
    const at = Math.max(nowMs, slice.maxTimestampMs);
    slices.push({
      advertiserId: slice.advertiserId,
      currentPeriod: defaults === null ? context.periodOf(at) : clickPeriodOf(at, slice.calendar, defaults),
      buckets: slice.buckets,
      events: slice.events,
      packed: slice.bytes.subarray(0, slice.length),
      calendar: defaults === null ? "" : calendarArgument(slice.calendar, defaults, slice.calendarChangedAt),
    });
  }
  const commitArgs: (string | number)[] = [
    luaScript("commit_offsets").sha,
    1,
    context.keys.meta(context.topic),
    writer.epoch,
    writer.generation,
  ];
  for (const { partition, offset, watermarkMs } of progress) {
    commitArgs.push(partition, offset, watermarkMs ?? -1);
  }

  let replies: PipelineReply[];
  try {
    const sliceCommands = slices.map((slice) => evalsha(applySliceArgs(context, slice, sliceWriter, true)));
    const stateSurvived = async () => (await readMeta(context)) !== null;
    if (!context.clustered) {
      // One server: one round trip, commit_offsets last in the same pipeline.
      replies = await runScripts(context.redis, [...sliceCommands, evalsha(commitArgs)], { stateSurvived });
    } else {
      // A cluster runs each node's pipeline on its own: the offsets are committed only after every slice
      // succeeded, and not at all when one was refused.
      replies = await runScripts(context.redis, sliceCommands, { stateSurvived });
      const refused = slices.some((_, i) => decodeApplySlice(replyValue(replies, i)).status !== "applied");
      const commit: PipelineReply[] = refused
        ? [[null, 1]]
        : await runScripts(context.redis, [evalsha(commitArgs)]);
      replies.push(...commit);
    }
  } catch (error) {
    if (error instanceof SpendStoreError && error.code === "ADP_SPEND_STORE_STATE_LOST") {
      return {
        status: "state_lost",
        advertisers: slices.length,
        applied: 0,
        duplicates: 0,
        replayed: 0,
        closedPeriod: 0,
        flips: [],
      };
    }
    throw error;
  }
  const outcome = batchOutcome(slices, replies);
  if (outcome.guardMissing) await dropSentinel(context, writer.epoch);
  return outcome.batch;
}

/** Sums the apply_slice replies and reads the commit_offsets reply that follows them. */
function batchOutcome(
  slices: readonly SliceCall[],
  replies: readonly PipelineReply[],
): { batch: BatchOutcome; guardMissing: boolean } {
  let applied = 0;
  let duplicates = 0;
  let replayed = 0;
  let closedPeriod = 0;
  let refused = false;
  let guardMissing = false;
  const flips: ServingFlip[] = [];
  slices.forEach((slice, i) => {
    const reply = decodeApplySlice(replyValue(replies, i));
    if (reply.status === "epoch_refused") refused = true;
    if (reply.status === "guard_missing") guardMissing = true;
    applied += reply.applied;
    duplicates += reply.duplicates;
    replayed += reply.replayed;
    closedPeriod += reply.closedPeriod;
    if (reply.flipped) flips.push({ advertiserId: slice.advertiserId, canServe: reply.canServe === true });
  });
  const committed = decodeCommitOffsets(replyValue(replies, slices.length));
  const status = guardMissing ? "state_lost" : batchStatus(committed, refused);
  return {
    batch: { status, advertisers: slices.length, applied, duplicates, replayed, closedPeriod, flips },
    guardMissing,
  };
}

function batchStatus(committed: CommitOffsetsReply, refused: boolean): BatchStatus {
  if (committed === "state_lost") return "state_lost";
  if (committed === "epoch_changed" || refused) return "epoch_changed";
  if (committed === "generation_changed") return "generation_changed";
  return "applied";
}
