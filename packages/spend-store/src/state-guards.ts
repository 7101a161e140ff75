/**
 * State guards: what apply_slice checks before it writes an advertiser (KEYS[3]). On one server that is the
 * meta hash itself (its epoch field). On a Redis Cluster a script may only touch keys of one slot, and one node
 * can lose its data while the meta hash, on another node, stays: so the sentinel's epoch is copied into a guard
 * key in every slot, `<prefix>guard:{<tag>}` with a tag hashing to that slot.
 */
import { execByNode, HASH_SLOTS, slotTagOf, slotTags } from "@adpipe/serving-client";

export { HASH_SLOTS, slotTagOf, slotTags };

import { SpendStoreError } from "./errors.js";
import { decodeDropSentinel } from "./script-replies.js";
import { evalsha, replyValue, runScripts, throwFirstError } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";

/** Guards written per pipeline when a cluster's slot guards are (re)created. */
const GUARD_CHUNK = 2_048;

/** The key apply_slice checks for this advertiser: the meta hash, or on a cluster the guard of its slot. */
export function guardKey(
  context: Pick<StoreContext, "clustered" | "keys" | "topic">,
  advertiserId: string,
): string {
  const { keys } = context;
  if (!context.clustered) return keys.meta(context.topic);
  return keys.slotGuard(slotTagOf(keys.advertiser(advertiserId)));
}

/**
 * Marks the state of `epoch` intact: on one server the meta hash's epoch field, on a Redis Cluster that field in
 * every slot guard. A node that loses its data loses its slots' guards with it, and apply_slice refuses to write
 * there until a rebuild writes them again.
 */
export async function writeGuards(
  context: StoreContext,
  epoch: number,
  reserveHoldUntilMs: number | null = null,
): Promise<void> {
  const { redis, keys } = context;
  // reserve_hold_until (reserve.lua): hard_cap reservations wait until reservations lost with the old state expired.
  const fields =
    reserveHoldUntilMs === null
      ? ["epoch", epoch]
      : ["epoch", epoch, "reserve_hold_until", reserveHoldUntilMs];
  if (!context.clustered) {
    await redis.hset(keys.meta(context.topic), ...fields);
    return;
  }
  const guards = slotTags().map((tag) => keys.slotGuard(tag));
  for (let from = 0; from < guards.length; from += GUARD_CHUNK) {
    const chunk = guards.slice(from, from + GUARD_CHUNK);
    throwFirstError(
      await execByNode(
        redis,
        chunk.map((key) => ({ key, command: "HSET", args: [key, ...fields] })),
      ),
    );
  }
}

/**
 * Makes a partial loss (a guard missing) a loss of the whole state (drop_sentinel.lua), so that every replica,
 * `adpipe status` and the next commit see it and one of them rebuilds. Only while the sentinel is `epoch`'s.
 */
export async function dropSentinel(context: StoreContext, epoch: number): Promise<boolean> {
  const replies = await runScripts(context.redis, [
    evalsha([luaScript("drop_sentinel").sha, 1, context.keys.meta(context.topic), epoch]),
  ]);
  return decodeDropSentinel(replyValue(replies, 0));
}

/** Thrown where a caller cannot go on after a missing guard (an operator pause). */
export function partialLoss(): SpendStoreError {
  return new SpendStoreError("state_lost", "Redis lost part of the real-time state: it is being rebuilt");
}
