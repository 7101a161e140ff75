import { hashSlot } from "./pipeline-by-node.js";

/** Redis Cluster's number of hash slots. */
export const HASH_SLOTS = 16_384;

let tags: readonly string[] | null = null;

/**
 * One short hash tag per slot: tag i hashes to slot i. Found once per process by trying base-36 counters in order
 * (about 90,000 CRC16s, a few tens of ms), so every process derives the same tags and the same key names.
 */
export function slotTags(): readonly string[] {
  if (tags !== null) return tags;
  const found: string[] = new Array(HASH_SLOTS);
  let missing = HASH_SLOTS;
  for (let n = 0; missing > 0; n++) {
    const tag = n.toString(36);
    const slot = hashSlot(tag);
    if (found[slot] === undefined) {
      found[slot] = tag;
      missing--;
    }
  }
  tags = found;
  return found;
}

/** The hash tag whose keys share a slot with `key`. */
export function slotTagOf(key: string): string {
  return slotTags()[hashSlot(key)] as string;
}

/** `<prefix>meta:{<topic>}`: the tracker's sentinel, state epoch and offsets (one per topic). */
export function metaKey(prefix: string, topic: string): string {
  return `${prefix}meta:{${topic}}`;
}

/** `<prefix>guard:{<tag>}`: on a Redis Cluster, the sentinel's epoch copied into one hash slot. */
export function slotGuardKey(prefix: string, tag: string): string {
  return `${prefix}guard:{${tag}}`;
}

/**
 * The state guard of the slot `key` lies in: the meta hash on one server, the slot guard on a Redis Cluster.
 * Its field `epoch` says the tracker's state there is intact; a script about an advertiser checks it together
 * with the advertiser's keys (one slot).
 */
export function stateGuardKey(prefix: string, topic: string, clustered: boolean, key: string): string {
  return clustered ? slotGuardKey(prefix, slotTagOf(key)) : metaKey(prefix, topic);
}
