import { clickPeriodOf } from "@adpipe/core";
import { advertiserIdFromKey } from "@adpipe/serving-client";
import { readCalendars } from "./calendars.js";
import { chunked, JOB_CHUNK } from "./keyspace-pass.js";
import { decodeApplySlice } from "./script-replies.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { applySliceArgs, emptySlice, type SliceWriter } from "./slice-call.js";
import { dropSentinel } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";
import type { ServingFlip, SweepOutcome } from "./store-types.js";

/**
 * Period rollover: moves every advertiser hash whose period (in its own calendar) is over into the current period (spend
 * restarts from zero, or from clicks that arrived early for it) and recomputes can_serve, so an
 * advertiser that ran out yesterday serves again at the boundary without a new click. `freshListing`: from a
 * SCAN pass started now, not a shared one that may predate a hash created just before the boundary.
 */
export async function sweep(
  context: StoreContext,
  epoch: number,
  freshListing = false,
): Promise<SweepOutcome> {
  const nowMs = context.clock();
  const period = context.periodOf(nowMs);
  const writer: SliceWriter = { epoch, nowMs, channel: context.channel };
  let scanned = 0;
  let epochChanged = false;
  const flips: ServingFlip[] = [];
  // The shared pass (keyspace-pass.ts) lists each key once.
  const { advertiserKeys } = await context.pass.listing(freshListing);
  for (const keys of chunked(advertiserKeys, JOB_CHUNK)) {
    const ids = keys
      .map((key) => advertiserIdFromKey(key, context.keys.prefix))
      .filter((id): id is string => id !== null);
    if (ids.length === 0) continue;
    scanned += ids.length;
    // Each advertiser rolls by its own calendar (clickPeriodOf), as stored in its hash.
    const calendars = await readCalendars(context, ids);
    const defaults = { period: context.budgetPeriod, timeZone: context.timeZone };
    const replies = await runScripts(
      context.redis,
      // create = false: a hash deleted since the SCAN stays deleted.
      ids.map((id) => {
        const own = calendars.get(id) ?? null;
        const window = own === null ? period : clickPeriodOf(nowMs, own, defaults);
        return evalsha(applySliceArgs(context, emptySlice(id, window), writer, false));
      }),
    );
    let guardMissing = false;
    ids.forEach((id, i) => {
      const reply = decodeApplySlice(replyValue(replies, i));
      if (reply.status === "epoch_refused") epochChanged = true;
      if (reply.status === "guard_missing") guardMissing = true;
      if (reply.flipped) flips.push({ advertiserId: id, canServe: reply.canServe === true });
    });
    if (guardMissing) {
      // The tracker's state check then finds the sentinel gone and rebuilds.
      await dropSentinel(context, epoch);
      epochChanged = true;
    }
  }
  return { period, scanned, flips, epochChanged };
}
