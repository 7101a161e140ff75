import { execByNode } from "@adpipe/serving-client";
import { scanKeys } from "./redis-scan.js";
import type { StoreContext } from "./store-context.js";

/** Keys unlinked per pipeline (and asked of SCAN per step). */
const WIPE_CHUNK = 500;

/** Deletes every key of the store under the prefix (advertiser hashes, pending, dedup sets, guards, the meta). */
export async function wipe(context: StoreContext): Promise<number> {
  const { redis, keys } = context;
  let deleted = await redis.del(keys.meta(context.topic));
  for (const pattern of Object.values(keys.patterns)) {
    for await (const found of scanKeys(redis, pattern, WIPE_CHUNK)) {
      const replies = await execByNode(
        redis,
        found.map((key) => ({ key, command: "UNLINK", args: [key] })),
      );
      for (const [, n] of replies) deleted += typeof n === "number" ? n : 0;
    }
  }
  return deleted;
}
