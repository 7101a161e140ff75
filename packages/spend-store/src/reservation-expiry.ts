import { chunked, JOB_CHUNK } from "./keyspace-pass.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";

export interface ReservationExpiryOutcome {
  /** Advertisers with outstanding reservations looked at. */
  readonly advertisers: number;
  /** Reservations released because their expiry lies before the watermark. */
  readonly expired: number;
  readonly releasedMicros: number;
}

/**
 * Releases every reservation whose expiry lies before `watermarkMs`, the event-time watermark the tracker has
 * applied across the topic (appliedWatermark of @adpipe/core): expire_reservations.lua per advertiser with
 * outstanding reservations (its `<prefix>resvexp:{<id>}` key found by the shared SCAN pass, keyspace-pass.ts),
 * pipelined in chunks.
 */
export async function expireReservations(
  context: StoreContext,
  watermarkMs: number,
): Promise<ReservationExpiryOutcome> {
  const { keys } = context;
  const head = `${keys.prefix}resvexp:`;
  let advertisers = 0;
  let expired = 0;
  let releasedMicros = 0;
  // The expiries key carries the advertiser's hash tag; the other two keys are named from it.
  const { reservationTags } = await context.pass.listing();
  for (const tags of chunked(reservationTags, JOB_CHUNK)) {
    advertisers += tags.length;
    const replies = await runScripts(
      context.redis,
      tags.map((tag) =>
        evalsha([
          luaScript("expire_reservations").sha,
          3,
          `${keys.prefix}adv:${tag}`,
          `${keys.prefix}resv:${tag}`,
          `${head}${tag}`,
          watermarkMs,
        ]),
      ),
    );
    tags.forEach((_, i) => {
      const reply = replyValue(replies, i);
      if (Array.isArray(reply)) {
        expired += Number(reply[0]);
        releasedMicros += Number(reply[1]);
      }
    });
  }
  return { advertisers, expired, releasedMicros };
}
