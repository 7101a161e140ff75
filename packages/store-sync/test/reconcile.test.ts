import type { StoredState } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { offsetDistance, reconcileTotals } from "../src/reconcile.js";

const period = { id: "2026-11-25", startMs: Date.UTC(2026, 10, 25), endMs: Date.UTC(2026, 10, 26) };

function state(advertiserId: string, over: Partial<StoredState> = {}): StoredState {
  return {
    advertiserId,
    period: period.id,
    periodStartMs: period.startMs,
    netMicros: 0,
    grossMicros: 0,
    clicks: 0,
    budgetMicros: 1_000_000,
    budgetEventTimeMs: 0,
    budgetSource: "api",
    mode: "observe",
    overCapMicros: 0,
    budgetPeriod: "day",
    timeZone: "UTC",
    canServe: true,
    reason: null,
    paused: false,
    ...over,
  };
}

describe("reconcileTotals", () => {
  it("is zero when both sides agree, a missing side counting as zero spend and no budget", () => {
    const report = reconcileTotals(
      period,
      [
        state("a", { netMicros: 5, grossMicros: 6, clicks: 1 }),
        state("idle", { budgetMicros: null, budgetSource: null }),
      ],
      [
        {
          advertiserId: "a",
          netMicros: 5,
          grossMicros: 6,
          clicks: 1,
          budgetMicros: 1_000_000,
          budgetSource: "api" as const,
          overCapMicros: 0,
          mode: "observe" as const,
        },
      ],
      { redis: [{ partition: 0, offset: 10 }], warehouse: [{ partition: 0, offset: 10 }] },
    );
    expect(report).toMatchObject({ advertisers: 2, mismatched: [], netAbsDiffMicros: 0, offsetsApart: 0 });
  });

  it("reports differences per advertiser and in absolute sums", () => {
    const report = reconcileTotals(
      period,
      [
        state("a", { netMicros: 7 }),
        state("b", { netMicros: 1, budgetMicros: 3, budgetSource: "api" as const }),
      ],
      [
        {
          advertiserId: "a",
          netMicros: 5,
          grossMicros: 0,
          clicks: 0,
          budgetMicros: 1_000_000,
          budgetSource: "api" as const,
          overCapMicros: 0,
          mode: "observe" as const,
        },
        {
          advertiserId: "b",
          netMicros: 4,
          grossMicros: 0,
          clicks: 0,
          budgetMicros: 3,
          budgetSource: "api" as const,
          overCapMicros: 0,
          mode: "observe" as const,
        },
        {
          advertiserId: "c",
          netMicros: 2,
          grossMicros: 2,
          clicks: 1,
          budgetMicros: null,
          budgetSource: null,
          overCapMicros: 0,
          mode: "observe" as const,
        },
      ],
      {
        redis: [{ partition: 0, offset: 10 }],
        warehouse: [
          { partition: 0, offset: 7 },
          { partition: 1, offset: 2 },
        ],
      },
    );
    expect(report.mismatched.map((d) => [d.advertiserId, d.netDiffMicros])).toEqual([
      ["a", 2],
      ["b", -3],
      ["c", -2],
    ]);
    expect(report.netAbsDiffMicros).toBe(7);
    expect(report.offsetsApart).toBe(5);
  });

  it("a budget of the same amount from a different source is a difference", () => {
    const report = reconcileTotals(
      period,
      [state("a", { budgetSource: "click" })],
      [
        {
          advertiserId: "a",
          netMicros: 0,
          grossMicros: 0,
          clicks: 0,
          budgetMicros: 1_000_000,
          budgetSource: "api",
          overCapMicros: 0,
          mode: "observe",
        },
      ],
      { redis: [], warehouse: [] },
    );
    expect(report.mismatched.map((d) => [d.advertiserId, d.budgetDiffers])).toEqual([["a", true]]);
  });

  it("a different over_cap amount or budget mode is a difference, reported with both sides", () => {
    const warehouse = (
      advertiserId: string,
      over: { overCapMicros: number; mode: "observe" | "hard_cap" },
    ) => ({
      advertiserId,
      netMicros: 10,
      grossMicros: 15,
      clicks: 2,
      budgetMicros: 1_000_000,
      budgetSource: "api" as const,
      ...over,
    });
    const report = reconcileTotals(
      period,
      [
        state("agree", { netMicros: 10, grossMicros: 15, clicks: 2, mode: "hard_cap", overCapMicros: 5 }),
        state("over", { netMicros: 10, grossMicros: 15, clicks: 2, mode: "hard_cap", overCapMicros: 7 }),
        state("mode", { netMicros: 10, grossMicros: 15, clicks: 2, mode: "observe" }),
      ],
      [
        warehouse("agree", { overCapMicros: 5, mode: "hard_cap" }),
        warehouse("over", { overCapMicros: 5, mode: "hard_cap" }),
        warehouse("mode", { overCapMicros: 0, mode: "hard_cap" }),
      ],
      { redis: [], warehouse: [] },
    );
    expect(
      report.mismatched.map((d) => [
        d.advertiserId,
        d.overCapDiffMicros,
        d.modeDiffers,
        d.redis.mode,
        d.warehouse.mode,
        d.netDiffMicros,
        d.budgetDiffers,
      ]),
    ).toEqual([
      ["mode", 0, true, "observe", "hard_cap", 0, false],
      ["over", 2, false, "hard_cap", "hard_cap", 0, false],
    ]);
    expect(report.overCapAbsDiffMicros).toBe(2);
    expect(report.netAbsDiffMicros).toBe(0);
  });

  it("a hash in an earlier period keeps its mode (carried over) but holds no over_cap for this one", () => {
    const report = reconcileTotals(
      period,
      [state("old", { periodStartMs: period.startMs - 86_400_000, mode: "hard_cap", overCapMicros: 9 })],
      [
        {
          advertiserId: "old",
          netMicros: 0,
          grossMicros: 0,
          clicks: 0,
          budgetMicros: 1_000_000,
          budgetSource: "api",
          overCapMicros: 0,
          mode: "hard_cap",
        },
      ],
      { redis: [], warehouse: [] },
    );
    expect(report.mismatched).toEqual([]);
    expect(report.overCapAbsDiffMicros).toBe(0);
  });

  it("treats a hash still in an earlier period as zero for this one and skips hashes in a later one", () => {
    const report = reconcileTotals(
      period,
      [
        state("old", {
          periodStartMs: period.startMs - 86_400_000,
          netMicros: 99,
          budgetMicros: null,
          budgetSource: null,
        }),
        state("new", { periodStartMs: period.endMs, netMicros: 5 }),
      ],
      [],
      { redis: [], warehouse: [] },
    );
    expect(report.mismatched).toEqual([]);
    expect(report.skippedLaterPeriod).toBe(1);
  });

  it("offsetDistance counts a missing partition as offset 0", () => {
    expect(offsetDistance([{ partition: 1, offset: 4 }], [])).toBe(4);
  });
});
