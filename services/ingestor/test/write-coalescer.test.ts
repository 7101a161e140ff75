import { setImmediate as nextTurn } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WriteCoalescer } from "../src/write-coalescer.js";

/** Lets settled writes finish and the coalescer's next turn start the following writers. */
async function settle(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A coalescer over numbers (an item's size is its value) that records each group and holds it until released. */
function recording(maxGroupSize: number, maxConcurrentWrites = 1) {
  const groups: number[][] = [];
  const gates: Gate[] = [];
  let inFlight = 0;
  let peak = 0;
  const coalescer = new WriteCoalescer<number, string>({
    maxGroupSize,
    maxConcurrentWrites,
    sizeOf: (n) => n,
    write: async (items) => {
      groups.push(items);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      const g = gate();
      gates.push(g);
      await g.promise;
      inFlight -= 1;
      return items.map((n) => `w${n}`);
    },
  });
  return { coalescer, groups, gates, peak: () => peak };
}

describe("WriteCoalescer", () => {
  it("writes the items submitted in one turn as one group, each caller getting its own result", async () => {
    const { coalescer, groups, gates } = recording(100);
    const results = [1, 2, 3].map((n) => coalescer.submit(n));
    await nextTurn();
    expect(groups).toEqual([[1, 2, 3]]);
    gates[0]!.open();
    expect(await Promise.all(results)).toEqual(["w1", "w2", "w3"]);
  });

  it("queues what arrives while a write is in flight and takes all of it with the next write", async () => {
    const { coalescer, groups, gates } = recording(100);
    const first = coalescer.submit(5);
    await nextTurn();
    const later = [coalescer.submit(6), coalescer.submit(7)];
    await nextTurn();
    expect(groups).toEqual([[5]]);
    expect(coalescer.queued).toBe(2);
    gates[0]!.open();
    await first;
    await settle();
    expect(groups).toEqual([[5], [6, 7]]);
    gates[1]!.open();
    expect(await Promise.all(later)).toEqual(["w6", "w7"]);
  });

  it("caps a group's total size, in submission order, and writes an oversized item alone", async () => {
    const { coalescer, groups, gates } = recording(10, 3);
    const all = [4, 5, 2, 30, 1].map((n) => coalescer.submit(n));
    await nextTurn();
    expect(groups).toEqual([[4, 5], [2], [30]]);
    for (const g of gates) g.open();
    await settle();
    expect(groups).toEqual([[4, 5], [2], [30], [1]]);
    gates[3]!.open();
    await Promise.all(all);
  });

  it("keeps at most maxConcurrentWrites groups in flight", async () => {
    const { coalescer, groups, gates, peak } = recording(1, 2);
    const all = [1, 1, 1, 1].map((n) => coalescer.submit(n));
    await nextTurn();
    expect(groups).toHaveLength(2);
    expect(coalescer.inFlight).toBe(2);
    gates[0]!.open();
    gates[1]!.open();
    await settle();
    expect(groups).toHaveLength(4);
    gates[2]!.open();
    gates[3]!.open();
    await Promise.all(all);
    expect(peak()).toBe(2);
  });

  it("rejects every member of a failed group and goes on with the next", async () => {
    let calls = 0;
    const coalescer = new WriteCoalescer<number, number>({
      maxGroupSize: 10,
      sizeOf: () => 1,
      write: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error("boom");
        return items;
      },
    });
    const failed = [coalescer.submit(1), coalescer.submit(2)].map((p) => p.catch((e: Error) => e.message));
    expect(await Promise.all(failed)).toEqual(["boom", "boom"]);
    expect(await coalescer.submit(3)).toBe(3);
  });

  it("writes every item exactly once, each caller's in order, groups within the cap (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.nat(2), { minLength: 1, maxLength: 20 }),
        async (callers, cap, writers, delays) => {
          type Item = { caller: number; index: number; size: number };
          const groups: Item[][] = [];
          let inFlight = 0;
          let peak = 0;
          let call = 0;
          const coalescer = new WriteCoalescer<Item, string>({
            maxGroupSize: cap,
            maxConcurrentWrites: writers,
            sizeOf: (item) => item.size,
            write: async (items) => {
              groups.push(items);
              inFlight += 1;
              peak = Math.max(peak, inFlight);
              for (let i = 0; i < delays[call++ % delays.length]!; i++) await nextTurn();
              inFlight -= 1;
              return items.map((item) => `${item.caller}:${item.index}`);
            },
          });
          // Each caller (a partition) submits its next chunk only after the previous one was written.
          const results = await Promise.all(
            callers.map(async (sizes, caller) => {
              const got: string[] = [];
              for (const [index, size] of sizes.entries())
                got.push(await coalescer.submit({ caller, index, size }));
              return got;
            }),
          );
          results.forEach((got, caller) => {
            expect(got).toEqual(callers[caller]!.map((_, index) => `${caller}:${index}`));
          });
          const written = groups.flat();
          expect(written).toHaveLength(callers.flat().length);
          for (const [caller, sizes] of callers.entries()) {
            const mine = written.filter((item) => item.caller === caller).map((item) => item.index);
            expect(mine).toEqual(sizes.map((_, index) => index));
          }
          for (const group of groups) {
            const total = group.reduce((sum, item) => sum + item.size, 0);
            expect(group.length === 1 || total <= cap).toBe(true);
          }
          expect(peak).toBeLessThanOrEqual(writers);
          await settle();
          expect(coalescer.queued).toBe(0);
          expect(coalescer.inFlight).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
