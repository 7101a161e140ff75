import type { Logger } from "@adpipe/telemetry";
import { describe, expect, it } from "vitest";
import { resetCommand, TopicResetGuard } from "../src/topic-reset-guard.js";

function recorder() {
  const lines: { level: string; object: Record<string, unknown>; message?: string }[] = [];
  const at = (level: string) => (object: object, message?: string) =>
    lines.push({
      level,
      object: object as Record<string, unknown>,
      ...(message === undefined ? {} : { message }),
    });
  const logger: Logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
  return { lines, logger };
}

const reset = (partition: number, stored: bigint, end: bigint) => ({
  topic: "ad-clicks",
  partition,
  storedOffset: stored,
  logStartOffset: 0n,
  logEndOffset: end,
  reason: "offset_beyond_log_end" as const,
});

describe("TopicResetGuard", () => {
  it("blocks with a reason naming partition, stored offset, log end and the command; one ERROR per partition", () => {
    const { lines, logger } = recorder();
    const seen: number[][] = [];
    const guard = new TopicResetGuard({
      topic: "ad-clicks",
      consumer: "adpipe-ingestor",
      policy: "fail",
      logger,
      onChange: (resets) => seen.push(resets.map((r) => r.partition)),
    });
    expect(guard.blocked).toBe(false);
    expect(() => guard.check()).not.toThrow();
    guard.report([reset(0, 5259n, 255n)], { generation: 0 });
    guard.report([reset(0, 5259n, 260n), reset(1, 40n, 3n)], { generation: 0 });
    expect(guard.blocked).toBe(true);
    expect(() => guard.check()).toThrow(/partition 0 RESET \(stored 5259 > end 260\)/);
    expect(guard.reason()).toContain(resetCommand("ad-clicks"));
    const errors = lines.filter((l) => l.level === "error");
    expect(errors.map((l) => [l.object.partition, l.object.storedOffset, l.object.logEndOffset])).toEqual([
      [0, "5259", "255"],
      [1, "40", "3"],
    ]);
    expect(errors[0]?.message).toContain("stored offset 5259 > log end 255");
    expect(seen).toEqual([[0], [0, 1]]);
    guard.clear({ generation: 1, resetId: "7" });
    expect(guard.blocked).toBe(false);
    expect(seen.at(-1)).toEqual([]);
    expect(lines.at(-1)?.level).toBe("info");
  });

  it("says it resets by itself under RESET_POLICY=earliest", () => {
    const { logger } = recorder();
    const guard = new TopicResetGuard({ topic: "t", consumer: "g", policy: "earliest", logger });
    guard.report([reset(0, 10n, 1n)], { generation: 2 });
    expect(guard.reason()).toContain("RESET_POLICY=earliest");
  });
});
