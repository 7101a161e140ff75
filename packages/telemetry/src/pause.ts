import { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits `ms`, or less when `signal` aborts: a service loop's wait between passes, which stop() ends at once.
 * Resolves (never rejects) on abort.
 */
export async function pauseUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch((error: unknown) => {
    if (!signal.aborted) throw error;
  });
}
