import { type BudgetPeriodWindow, clickPeriodOf, sweepCanChangeServing } from "@adpipe/core";
import { advertiserIdFromKey } from "@adpipe/serving-client";
import { readStoredCalendars, type StoredCalendar } from "./calendars.js";
import { chunked, JOB_CHUNK } from "./keyspace-pass.js";
import { toInt } from "./redis-values.js";
import { decodeApplySlice } from "./script-replies.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { applySliceArgs, emptySlice, type SliceWriter } from "./slice-call.js";
import { dropSentinel } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";
import type { ServingFlip, SweepOutcome } from "./store-types.js";

/**
 * Period rollover and pacing: re-decides advertiser hashes at the store's clock. The rollover (`rollover` true,
 * once per service-wide period) moves every hash whose period (in its own calendar) is over into the current
 * period (spend restarts from zero, or from clicks that arrived early for it) and recomputes can_serve of every
 * hash, so an advertiser that ran out yesterday serves again at the boundary without a new click; it lists the
 * keys from a SCAN started now, not a shared pass that may predate a hash created just before the boundary.
 * The pacing sweep (every few seconds) re-decides only the hashes whose decision time can change
 * (sweepCanChangeServing of @adpipe/core: paced, or their own calendar's period is over); the others cost one
 * HMGET in their chunk's pipeline instead of an apply_slice call.
 */
export async function sweep(context: StoreContext, epoch: number, rollover = false): Promise<SweepOutcome> {
  const nowMs = context.clock();
  const period = context.periodOf(nowMs);
  const writer: SliceWriter = { epoch, nowMs, channel: context.channel };
  let scanned = 0;
  let decided = 0;
  let epochChanged = false;
  const flips: ServingFlip[] = [];
  // The shared pass (keyspace-pass.ts) lists each key once.
  const { advertiserKeys } = await context.pass.listing(rollover);
  for (const keys of chunked(advertiserKeys, JOB_CHUNK)) {
    const ids = keys
      .map((key) => advertiserIdFromKey(key, context.keys.prefix))
      .filter((id): id is string => id !== null);
    if (ids.length === 0) continue;
    scanned += ids.length;
    const due = await dueForSweep(context, ids, nowMs, rollover);
    if (due.length === 0) continue;
    decided += due.length;
    const replies = await runScripts(
      context.redis,
      // create = false: a hash deleted since the SCAN stays deleted.
      due.map(({ id, window }) => evalsha(applySliceArgs(context, emptySlice(id, window), writer, false))),
    );
    let guardMissing = false;
    due.forEach(({ id }, i) => {
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
  return { period, scanned, decided, flips, epochChanged };
}

/**
 * The advertisers among `ids` to re-decide (`every`: all of them, else those whose decision a sweep at `nowMs`
 * can change), each with its current period in its own calendar (clickPeriodOf, as stored in its hash): one
 * pipelined HMGET (per node on a cluster). A hash deleted since the listing reads as one without a period and
 * goes to apply_slice, which leaves it deleted.
 */
async function dueForSweep(
  context: StoreContext,
  ids: readonly string[],
  nowMs: number,
  every: boolean,
): Promise<{ readonly id: string; readonly window: BudgetPeriodWindow }[]> {
  const keys = ids.map((id) => context.keys.advertiser(id));
  const stored = await readStoredCalendars(context.redis, keys, ["_period_start", "pacing"]);
  const defaults = { period: context.budgetPeriod, timeZone: context.timeZone };
  const due: { id: string; window: BudgetPeriodWindow }[] = [];
  ids.forEach((id, i) => {
    const { calendar, extra } = stored[i] as StoredCalendar;
    const window = clickPeriodOf(nowMs, calendar, defaults);
    const candidate = { periodStartMs: toInt(extra[0] ?? null), pacing: extra[1] ?? null };
    if (every || sweepCanChangeServing(candidate, window)) due.push({ id, window });
  });
  return due;
}
