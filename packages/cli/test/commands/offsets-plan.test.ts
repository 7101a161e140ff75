import { describe, expect, it } from "vitest";
import { parseTarget } from "../../src/commands/offsets.js";
import { changes, formatPlan, planReset, type ResetInputs } from "../../src/commands/offsets-plan.js";

const LOG = [
  { partition: 0, start: 0n, end: 255n },
  { partition: 1, start: 0n, end: 40n },
];

function inputs(overrides: Partial<ResetInputs> = {}): ResetInputs {
  return {
    topic: "ad-clicks",
    target: { kind: "earliest" },
    log: LOG,
    targets: new Map([
      [0, 0n],
      [1, 0n],
    ]),
    assertNewLog: false,
    warehouse: {
      generation: 0,
      pipelines: new Map([
        [
          "adpipe-ingestor",
          new Map([
            [0, 5259n],
            [1, 30n],
          ]),
        ],
      ]),
      defaultPipeline: "adpipe-ingestor",
      detected: [],
    },
    tracker: {
      generation: 0,
      stored: new Map([
        [0, 5259n],
        [1, 30n],
      ]),
      detected: [],
    },
    ...overrides,
  };
}

describe("planReset", () => {
  it("a stored offset beyond the log end: both stores start generation 1 at the targets", () => {
    const plan = planReset(inputs());
    expect(plan.newLog).toBe(true);
    expect(plan.findings).toContain("warehouse (adpipe-ingestor): partition 0 RESET (stored 5259 > end 255)");
    expect(plan.findings).toContain("tracker: partition 0 RESET (stored 5259 > end 255)");
    expect([plan.warehouse.fromGeneration, plan.warehouse.toGeneration]).toEqual([0, 1]);
    expect([plan.tracker?.fromGeneration, plan.tracker?.toGeneration]).toEqual([0, 1]);
    expect(plan.warehouse.pipelines[0]?.moves.map((m) => [m.partition, m.from, m.to, m.change])).toEqual([
      [0, 5259n, 0n, "new_log"],
      [1, 30n, 0n, "new_log"],
    ]);
    const text = formatPlan(plan).join("\n");
    expect(text).toContain("generation 0 -> 1");
    expect(text).toContain("partition 0: 5259 -> 0 (new log)");
    expect(text).toContain("the log was replaced");
  });

  it("a store that moved to the new log by itself (RESET_POLICY=earliest) is left alone", () => {
    const plan = planReset(
      inputs({
        warehouse: {
          generation: 1,
          pipelines: new Map([["adpipe-ingestor", new Map([[0, 200n]])]]),
          defaultPipeline: "adpipe-ingestor",
          detected: [],
        },
      }),
    );
    expect(plan.newLog).toBe(true);
    expect(changes(plan.warehouse)).toBe(false);
    expect([plan.tracker?.fromGeneration, plan.tracker?.toGeneration]).toEqual([0, 1]);
  });

  it("a reset a service recorded counts even when the new log has grown past the stored offsets", () => {
    const grown = inputs({
      log: [
        { partition: 0, start: 0n, end: 9_000n },
        { partition: 1, start: 0n, end: 40n },
      ],
      warehouse: {
        ...inputs().warehouse,
        detected: ["ingestor (g) recorded partition 0: offset_beyond_log_end (stored 5259, end 12)"],
      },
      tracker: null,
    });
    const plan = planReset(grown);
    expect(plan.newLog).toBe(true);
    expect(plan.warehouse.toGeneration).toBe(1);
    expect(plan.tracker).toBeNull();
  });

  it("no reset: --to latest moves forward, --to earliest changes nothing (moving back would double)", () => {
    const healthy = {
      generation: 0,
      pipelines: new Map([
        [
          "adpipe-ingestor",
          new Map([
            [0, 100n],
            [1, 30n],
          ]),
        ],
      ]),
      defaultPipeline: "adpipe-ingestor",
      detected: [],
    };
    const tracker = {
      generation: 0,
      stored: new Map([
        [0, 100n],
        [1, 30n],
      ]),
      detected: [],
    };
    const latest = planReset(
      inputs({
        target: { kind: "latest" },
        targets: new Map([
          [0, 255n],
          [1, 40n],
        ]),
        warehouse: healthy,
        tracker,
      }),
    );
    expect(latest.newLog).toBe(false);
    expect(latest.warehouse.toGeneration).toBe(0);
    expect(latest.warehouse.moves.map((m) => [m.partition, m.to, m.change])).toEqual([
      [0, 255n, "forward"],
      [1, 40n, "forward"],
    ]);
    expect(formatPlan(latest).join("\n")).toContain("partition 0: 100 -> 255 (skips 155 records)");
    const earliest = planReset(inputs({ warehouse: healthy, tracker }));
    expect(changes(earliest.warehouse)).toBe(false);
    expect(earliest.tracker !== null && changes(earliest.tracker)).toBe(false);
    expect(formatPlan(earliest).join("\n")).toContain("kept (target 0 is behind");
  });

  it("--new-log starts a new generation although no position shows the replacement", () => {
    const plan = planReset(
      inputs({
        assertNewLog: true,
        warehouse: { ...inputs().warehouse, pipelines: new Map([["adpipe-ingestor", new Map([[0, 10n]])]]) },
        tracker: { generation: 0, stored: new Map([[0, 10n]]), detected: [] },
      }),
    );
    expect(plan.newLog).toBe(true);
    expect(plan.warehouse.toGeneration).toBe(1);
    expect(plan.tracker?.toGeneration).toBe(1);
  });
});

describe("parseTarget", () => {
  it("takes earliest, latest or an ISO time with a zone", () => {
    expect(parseTarget("earliest")).toEqual({ kind: "earliest" });
    expect(parseTarget("latest")).toEqual({ kind: "latest" });
    expect(parseTarget("2026-11-25T00:00:00Z")).toEqual({ kind: "time", timeMs: Date.UTC(2026, 10, 25) });
    expect(() => parseTarget("2026-11-25T00:00:00")).toThrow(/zone/);
    expect(() => parseTarget("yesterday")).toThrow(/earliest, latest/);
  });
});
