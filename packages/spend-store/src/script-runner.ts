import {
  execByNode,
  type PipelineReply,
  type RedisArgument,
  type RoutedCommand,
} from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { SpendStoreError } from "./errors.js";
import { isNoScriptError, loadScripts } from "./scripts.js";

export type { PipelineReply, RoutedCommand } from "@adpipe/serving-client";

/** EVALSHA of a script, routed by its first key (every script's keys share one slot). */
export function evalsha(args: readonly RedisArgument[]): RoutedCommand {
  return { key: String(args[2]), command: "EVALSHA", args };
}

export interface RunScriptsOptions {
  /**
   * Asked after Redis forgot the scripts (NOSCRIPT): whether the tracker state (the sentinel) survived. When
   * given and it answers false, nothing is sent again and the call fails with state_lost.
   */
  stateSurvived?: () => Promise<boolean>;
}

/**
 * Sends EVALSHA calls (and plain commands) pipelined — one pipeline on one server, one per node on a Redis
 * Cluster (execByNode) — and returns the replies in order, failing on the first error reply. When Redis answers
 * NOSCRIPT it loads the scripts and sends all of it once more.
 */
export async function runScripts(
  redis: Redis | Cluster,
  commands: readonly RoutedCommand[],
  options: RunScriptsOptions = {},
): Promise<PipelineReply[]> {
  for (let attempt = 0; ; attempt++) {
    const replies = await execByNode(redis, commands);
    const noScript = replies.some(([error]) => error !== null && isNoScriptError(error));
    if (!noScript || attempt > 0) {
      throwFirstError(replies);
      return replies;
    }
    // Redis restarted or its script cache was flushed. Every script is idempotent (offsets per hash,
    // forward-only meta), so the whole pipeline is simply sent again.
    await loadScripts(redis);
    // A restart may also have lost the data. Sending the slices into an empty Redis would create hashes
    // holding only this batch's spend, which ad servers would read as the advertiser's spend (can_serve 1 for
    // an exhausted budget) until the tracker rebuilt. Without the sentinel the batch is refused instead
    // (state_lost: the tracker rebuilds first).
    if (options.stateSurvived !== undefined && !(await options.stateSurvived())) {
      throw new SpendStoreError("state_lost", "Redis restarted without the tracker state: nothing written");
    }
  }
}

/** Throws the first error reply of a pipeline (code redis_reply, the Redis error as cause). */
export function throwFirstError(replies: readonly PipelineReply[]): void {
  const failed = replies.find(([error]) => error !== null);
  if (failed?.[0]) throw new SpendStoreError("redis_reply", failed[0].message, { cause: failed[0] });
}

/** The value of the i-th reply (undefined when the pipeline answered fewer: the decoders reject it). */
export function replyValue(replies: readonly PipelineReply[], index: number): unknown {
  return replies[index]?.[1];
}
