import { describe, expect, it } from "vitest";
import { scaleCpuCheck } from "./profile.js";
import { summarize } from "./support/efficiency.js";

describe("scenario 10's per-record CPU check", () => {
  it("applies with a core per replica of both consumers plus two, not below, unless forced", () => {
    expect(scaleCpuCheck(3, {}, 8).applied).toBe(true);
    expect(scaleCpuCheck(3, {}, 7)).toMatchObject({
      applied: false,
      reason: expect.stringMatching(/^7 cores < 8/),
    });
    expect(scaleCpuCheck(3, { INTEGRITY_SCALE_CPU_CHECK: "on" }, 2).applied).toBe(true);
    expect(scaleCpuCheck(3, { INTEGRITY_SCALE_CPU_CHECK: "off" }, 64).applied).toBe(false);
    expect(() => scaleCpuCheck(3, { INTEGRITY_SCALE_CPU_CHECK: "yes" }, 8)).toThrow(/on, off or auto/);
  });

  it("weights replicas by their records and subtracts only the idle draw", () => {
    const phase = summarize(
      [
        { label: "a", records: 3_000, cpuSeconds: 0.1, idleCpuPerSecond: 0.01, netCpuSeconds: 0.08 },
        { label: "b", records: 1_000, cpuSeconds: 0.1, idleCpuPerSecond: 0.01, netCpuSeconds: 0.02 },
      ],
      2_000,
    );
    expect(phase.records).toBe(4_000);
    expect(phase.perCpuSecond).toBeCloseTo(20_000, 6);
    expect(phase.perNetCpuSecond).toBeCloseTo(40_000, 6);
  });
});
