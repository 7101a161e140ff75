import { backoffDelayMs } from "@adpipe/telemetry";
import { describe, expect, it } from "vitest";
import { COORDINATOR_ATTEMPTS, COORDINATOR_RETRY } from "../src/group-offsets.js";
import { RECOVERY_RETRY } from "../src/recovery.js";

/** The delays of attempts 1..n, checked to be the same whatever the random draw (no jitter). */
function delays(options: typeof RECOVERY_RETRY, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const low = backoffDelayMs(i + 1, options, () => 0);
    expect(backoffDelayMs(i + 1, options, () => 0.999)).toBe(low);
    return low;
  });
}

describe("the tracker's retry timings", () => {
  it("group coordinator not ready at start: 0.5 s doubling to 5 s, nine waits (about half a minute)", () => {
    expect(COORDINATOR_ATTEMPTS).toBe(10);
    const waits = delays(COORDINATOR_RETRY, COORDINATOR_ATTEMPTS - 1);
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000, 5_000]);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(32_500);
  });

  it("a failed recovery: 1 s doubling, at most 30 s, for as long as it takes", () => {
    expect(delays(RECOVERY_RETRY, 8)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(delays(RECOVERY_RETRY, 100).at(-1)).toBe(30_000);
  });
});
