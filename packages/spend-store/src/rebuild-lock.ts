import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { SpendStoreError } from "./errors.js";
import { decodeRebuildLock } from "./script-replies.js";
import { evalsha, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";
import type { RebuildLock } from "./store-types.js";

/** What withRebuildLock needs of a store. */
export interface RebuildLockHolder {
  acquireRebuildLock(): Promise<RebuildLock | null>;
}

/**
 * Takes the rebuild lock (SET NX PX, refreshed by its owner at a third of its TTL while held); returns a
 * release handle, or null when someone else holds it.
 */
export async function acquireRebuildLock(context: StoreContext, ttlMs: number): Promise<RebuildLock | null> {
  const { redis } = context;
  const owner = randomUUID();
  const key = context.keys.rebuildLock(context.topic);
  const ok = await redis.set(key, owner, "PX", ttlMs, "NX");
  if (ok !== "OK") return null;
  const call = async (op: "refresh" | "release") => {
    const replies = await runScripts(redis, [
      evalsha([luaScript("rebuild_lock").sha, 1, key, op, owner, ttlMs]),
    ]);
    return decodeRebuildLock(replyValue(replies, 0));
  };
  const timer = setInterval(
    () => {
      call("refresh").catch(() => undefined);
    },
    Math.max(1_000, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await call("release");
    },
  };
}

export async function isRebuildLocked(context: StoreContext): Promise<boolean> {
  return (await context.redis.exists(context.keys.rebuildLock(context.topic))) === 1;
}

/**
 * Runs `work` holding the rebuild lock. When another process holds it, waits (polling) up to `waitMs`
 * and then fails with code ADP_SPEND_STORE_REBUILD_FAILED.
 */
export async function withRebuildLock<T>(
  store: RebuildLockHolder,
  work: () => Promise<T>,
  options: { waitMs?: number; pollMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let lock: RebuildLock | null = await store.acquireRebuildLock();
  while (lock === null) {
    if (Date.now() >= deadline) {
      throw new SpendStoreError("rebuild_failed", "another process holds the rebuild lock");
    }
    await sleep(options.pollMs ?? 250);
    lock = await store.acquireRebuildLock();
  }
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
