import { setTimeout as sleep } from "node:timers/promises";

/**
 * Resolves when `check` returns true; rejects after `timeoutMs` with `what` (and the last error `check` threw,
 * which counts as "not yet": a service being down is expected while faults are injected).
 */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const because = lastError === null ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${because}`);
    }
    await sleep(pollMs);
  }
}
