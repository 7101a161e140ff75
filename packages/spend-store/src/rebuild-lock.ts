import { setTimeout as sleep } from "node:timers/promises";
import { SpendStoreError } from "./errors.js";
import type { RebuildLock, SpendStore } from "./store.js";

/**
 * Runs `work` holding the rebuild lock. When another process holds it, waits (polling) up to `waitMs`
 * and then fails with code rebuild_failed.
 */
export async function withRebuildLock<T>(
  store: SpendStore,
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
