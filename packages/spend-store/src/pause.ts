import { clickPeriodOf } from "@adpipe/core";
import { readCalendars } from "./calendars.js";
import { SpendStoreError } from "./errors.js";
import { readMeta } from "./meta-hash.js";
import { decodeApplySlice } from "./script-replies.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { applySliceArgs, emptySlice } from "./slice-call.js";
import { dropSentinel, partialLoss } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";
import type { ServingFlip } from "./store-types.js";

/** Rebuilds finishing between reading the epoch and the call are retried this often, then it fails. */
const PAUSE_ATTEMPTS = 3;

/**
 * An operator pause (reason `paused`): survives clicks, rollovers and rebuilds. Uses the epoch in Redis
 * at the time of the call (an operator action is never stale), so any process may call it.
 */
export async function pauseAdvertiser(
  context: StoreContext,
  advertiserId: string,
  paused: boolean,
): Promise<ServingFlip | null> {
  const key = context.keys.advertiser(advertiserId);
  for (let attempt = 0; attempt < PAUSE_ATTEMPTS; attempt++) {
    const meta = await readMeta(context);
    if (meta === null) {
      throw new SpendStoreError(
        "state_lost",
        "the real-time state is missing or being rebuilt: retry shortly",
      );
    }
    const nowMs = context.clock();
    const own = (await readCalendars(context, [advertiserId])).get(advertiserId) ?? null;
    const defaults = { period: context.budgetPeriod, timeZone: context.timeZone };
    const slice = emptySlice(advertiserId, clickPeriodOf(nowMs, own, defaults));
    const writer = { epoch: meta.epoch, nowMs, channel: context.channel };
    const replies = await runScripts(context.redis, [
      { key, command: "HSET", args: [key, "_paused", paused ? "1" : "0"] },
      evalsha(applySliceArgs(context, slice, writer, true)),
    ]);
    const reply = decodeApplySlice(replyValue(replies, 1));
    if (reply.status === "epoch_refused") continue; // a rebuild finished between reading the epoch and the call
    if (reply.status === "guard_missing") {
      await dropSentinel(context, meta.epoch);
      throw partialLoss();
    }
    return reply.flipped ? { advertiserId, canServe: reply.canServe === true } : null;
  }
  throw new SpendStoreError(
    "state_lost",
    "the real-time state kept changing epoch (rebuilds): retry shortly",
  );
}
