import {
  advertiserHashTag,
  advertiserKey,
  DEFAULT_KEY_PREFIX,
  metaKey,
  reservationExpiriesKey,
  reservationsKey,
  slotGuardKey,
} from "@adpipe/serving-client";

/**
 * Key names of the spend store. The advertiser hash name is the public contract and comes from
 * @adpipe/serving-client; the other keys are internal. Every per-advertiser key carries the same
 * `{<advertiser_id>}` hash tag (advertiserHashTag: braces and `%` in the id encoded) so one Lua script may touch
 * all of them on a Redis Cluster.
 */
export interface SpendKeys {
  readonly prefix: string;
  advertiser(advertiserId: string): string;
  /** Spend that arrived early for periods that have not begun (clicks within the allowed clock skew). */
  pending(advertiserId: string): string;
  /** click_ids seen for one advertiser in one dedup bucket (a budget period, or a day for lifetime budgets). */
  dedup(advertiserId: string, bucketId: string): string;
  /** Outstanding admission reservations (reserve.lua): reservation id -> maxCostMicros. */
  reservations(advertiserId: string): string;
  /** Expiry (epoch ms) of each outstanding reservation, a sorted set. */
  reservationExpiries(advertiserId: string): string;
  /** Sentinel and consumer progress for one topic; its absence means Redis lost the tracker's state. */
  meta(topic: string): string;
  /** Held while a rebuild runs, so only one tracker instance (or the CLI) rebuilds at a time. */
  rebuildLock(topic: string): string;
  /**
   * On a Redis Cluster, the sentinel's copy in one hash slot (state-guards.ts): `tag` is chosen so the key lands
   * in that slot, where apply_slice can check it together with the advertiser's keys.
   */
  slotGuard(tag: string): string;
  /**
   * The SCAN pattern of the periodic jobs' shared pass (keyspace-pass.ts): it matches the advertiser hashes and
   * the reservation keys (`adv:`, `resv:`, `resvexp:`) and no other key of the store.
   */
  readonly listingPattern: string;
  /** SCAN patterns for every key of the store. */
  readonly patterns: {
    readonly advertiser: string;
    readonly pending: string;
    readonly dedup: string;
    readonly guard: string;
    readonly reservations: string;
    readonly reservationExpiries: string;
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function spendKeys(prefix: string = DEFAULT_KEY_PREFIX): SpendKeys {
  const glob = escapeGlob(prefix);
  return {
    prefix,
    advertiser: (advertiserId) => advertiserKey(advertiserId, prefix),
    pending: (advertiserId) => `${prefix}pending:${advertiserHashTag(advertiserId)}`,
    dedup: (advertiserId, bucketId) => `${prefix}dedup:${advertiserHashTag(advertiserId)}:${bucketId}`,
    reservations: (advertiserId) => reservationsKey(advertiserId, prefix),
    reservationExpiries: (advertiserId) => reservationExpiriesKey(advertiserId, prefix),
    meta: (topic) => metaKey(prefix, topic),
    rebuildLock: (topic) => `${prefix}lock:{${topic}}`,
    slotGuard: (tag) => slotGuardKey(prefix, tag),
    listingPattern: `${glob}[ar][de][sv]*:{*}`,
    patterns: {
      advertiser: `${glob}adv:{*}`,
      pending: `${glob}pending:{*}`,
      dedup: `${glob}dedup:{*}:*`,
      guard: `${glob}guard:{*}`,
      reservations: `${glob}resv:{*}`,
      reservationExpiries: `${glob}resvexp:{*}`,
    },
  };
}
