import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkPosition,
  describeReset,
  detectResets,
  generationTopic,
  planPositions,
  storesOnOldLog,
  targetOffset,
} from "../src/topic-reset.js";

const offset = fc.bigInt({ min: 0n, max: 2n ** 62n });
const log = fc.tuple(offset, offset).map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a }));

describe("checkPosition", () => {
  it("a stored offset beyond the log end is a reset; below the start a gap; otherwise fine", () => {
    fc.assert(
      fc.property(offset, log, (stored, bounds) => {
        const check = checkPosition(stored, bounds);
        if (stored > bounds.end) expect(check).toEqual({ status: "reset", reason: "offset_beyond_log_end" });
        else if (stored < bounds.start) expect(check).toEqual({ status: "behind_log_start" });
        else expect(check).toEqual({ status: "ok" });
      }),
    );
  });

  it("a changed topic id is a reset whatever the offsets say; an unknown id decides nothing", () => {
    const bounds = { start: 0n, end: 100n };
    expect(checkPosition(50n, bounds, { recordedTopicId: "a", topicId: "b" })).toEqual({
      status: "reset",
      reason: "topic_id_changed",
    });
    expect(checkPosition(50n, bounds, { recordedTopicId: "a", topicId: "a" })).toEqual({ status: "ok" });
    expect(checkPosition(50n, bounds, { recordedTopicId: null, topicId: "b" })).toEqual({ status: "ok" });
    // The example of a recreated topic: the old log was consumed to 5259, the recreated one ends at 255.
    expect(checkPosition(5259n, { start: 0n, end: 255n }).status).toBe("reset");
    // Caught up exactly (stored = end) is no reset.
    expect(checkPosition(255n, { start: 0n, end: 255n }).status).toBe("ok");
  });
});

describe("detectResets", () => {
  it("lists exactly the partitions whose stored offset lies beyond their end, in partition order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(20), log, fc.option(offset, { nil: undefined })), { maxLength: 8 }),
        (entries) => {
          const unique = [...new Map(entries.map((e) => [e[0], e])).values()];
          const bounds = unique.map(([partition, b]) => ({ partition, ...b }));
          const stored = new Map(
            unique.filter(([, , s]) => s !== undefined).map(([partition, , s]) => [partition, s as bigint]),
          );
          const found = detectResets("t", stored, bounds);
          const expected = unique
            .filter(([partition, b]) => (stored.get(partition) ?? -1n) > b.end)
            .map(([partition]) => partition)
            .sort((a, b) => a - b);
          expect(found.map((r) => r.partition)).toEqual(expected);
          for (const reset of found) expect(reset.storedOffset > reset.logEndOffset).toBe(true);
        },
      ),
    );
  });

  it("describes a reset as status prints it", () => {
    const [reset] = detectResets("t", new Map([[0, 5259n]]), [{ partition: 0, start: 0n, end: 255n }]);
    expect(describeReset(reset!)).toBe("RESET (stored 5259 > end 255)");
  });
});

describe("targetOffset", () => {
  it("earliest is the log start, latest the end, a time's offset stays within the log", () => {
    fc.assert(
      fc.property(log, fc.option(offset, { nil: undefined }), (bounds, byTime) => {
        const b = { partition: 0, ...bounds };
        expect(targetOffset({ kind: "earliest" }, b)).toBe(bounds.start);
        expect(targetOffset({ kind: "latest" }, b)).toBe(bounds.end);
        const t = targetOffset({ kind: "time", timeMs: 0 }, b, byTime);
        expect(t >= bounds.start && t <= bounds.end).toBe(true);
        if (byTime === undefined) expect(t).toBe(bounds.end);
      }),
    );
  });
});

describe("planPositions", () => {
  const positions = fc.dictionary(
    fc.nat(8).map(String),
    fc.tuple(fc.option(offset, { nil: undefined }), offset),
    { maxKeys: 6 },
  );
  const split = (entries: Record<string, [bigint | undefined, bigint]>) => {
    const stored = new Map<number, bigint>();
    const targets = new Map<number, bigint>();
    for (const [key, [s, t]] of Object.entries(entries)) {
      if (s !== undefined) stored.set(Number(key), s);
      targets.set(Number(key), t);
    }
    return { stored, targets };
  };

  it("on a replaced log every partition starts over at its target, in the next generation", () => {
    fc.assert(
      fc.property(fc.nat(100), positions, (generation, entries) => {
        const { stored, targets } = split(entries);
        const plan = planPositions({ generation, stored, targets, newLog: true });
        expect(plan.fromGeneration).toBe(generation);
        expect(plan.toGeneration).toBe(generation + 1);
        for (const move of plan.moves) {
          expect(move.to).toBe(targets.get(move.partition));
          expect(move.change).toBe("new_log");
        }
      }),
    );
  });

  it("on the same log positions never move back (that would count records twice)", () => {
    fc.assert(
      fc.property(fc.nat(100), positions, (generation, entries) => {
        const { stored, targets } = split(entries);
        const plan = planPositions({ generation, stored, targets, newLog: false });
        expect(plan.toGeneration).toBe(generation);
        expect(plan.moves.map((m) => m.partition)).toEqual([...targets.keys()].sort((a, b) => a - b));
        for (const move of plan.moves) {
          const target = targets.get(move.partition) as bigint;
          if (move.from === null) expect(move.to).toBe(target);
          else {
            // The larger of the two (bigints: no Math.max).
            expect(move.to >= move.from && move.to >= target).toBe(true);
            expect(move.to === move.from || move.to === target).toBe(true);
            expect(move.change).toBe(
              target > move.from ? "forward" : target < move.from ? "kept" : "unchanged",
            );
          }
        }
      }),
    );
  });
});

describe("storesOnOldLog", () => {
  it("the stores in the lowest generation; a store ahead already moved to the new log by itself", () => {
    expect(
      storesOnOldLog(
        new Map([
          ["warehouse", 0],
          ["tracker", 0],
        ]),
      ),
    ).toEqual(new Set(["warehouse", "tracker"]));
    expect(
      storesOnOldLog(
        new Map([
          ["warehouse", 1],
          ["tracker", 0],
        ]),
      ),
    ).toEqual(new Set(["tracker"]));
  });
});

describe("generationTopic", () => {
  it("keeps the topic's own name in generation 0 and tags later generations", () => {
    expect(generationTopic("ad-clicks", 0)).toBe("ad-clicks");
    expect(generationTopic("ad-clicks", 3)).toBe("ad-clicks#g3");
  });
});
