import { scanKeys } from "./redis-scan.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";

/** Advertisers' reservation keys expired per pipeline (and asked of SCAN per step). */
const EXPIRY_CHUNK = 500;

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
 * outstanding reservations (found by SCAN of `<prefix>resvexp:{*}`), pipelined in chunks.
 */
export async function expireReservations(
  context: StoreContext,
  watermarkMs: number,
): Promise<ReservationExpiryOutcome> {
  const { keys } = context;
  const head = `${keys.prefix}resvexp:`;
  const seen = new Set<string>();
  let advertisers = 0;
  let expired = 0;
  let releasedMicros = 0;
  for await (const found of scanKeys(context.redis, keys.patterns.reservationExpiries, EXPIRY_CHUNK)) {
    // The expiries key carries the advertiser's hash tag; the other two keys are named from it.
    const tags = found
      .filter((key) => key.startsWith(head) && !seen.has(key))
      .map((key) => {
        seen.add(key);
        return key.slice(head.length);
      });
    if (tags.length === 0) continue;
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
