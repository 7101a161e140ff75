import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coalesceLookups } from "../src/lookup-coalescer.js";

/** A fetchMany over a fixed store that records every call's ids. */
function recordingFetch(store: ReadonlyMap<string, number>) {
  const calls: string[][] = [];
  const fetchMany = async (ids: readonly string[]) => {
    calls.push([...ids]);
    return new Map(ids.filter((id) => store.has(id)).map((id) => [id, store.get(id) as number]));
  };
  return { calls, fetchMany };
}

describe("coalesceLookups", () => {
  it("answers every lookup of a turn from one fetch per maxBatch lookups, each id once per fetch", async () => {
    const id = fc.constantFrom("a", "b", "c", "d", "e", "f", "g");
    await fc.assert(
      fc.asyncProperty(
        fc.array(id, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (ids, maxBatch) => {
          const store = new Map([
            ["a", 1],
            ["c", 3],
            ["e", 5],
            ["g", 7],
          ]);
          const { calls, fetchMany } = recordingFetch(store);
          const lookup = coalesceLookups(fetchMany, maxBatch);
          const answers = await Promise.all(ids.map((one) => lookup(one)));
          expect(answers).toEqual(ids.map((one) => store.get(one)));
          expect(calls).toHaveLength(Math.ceil(ids.length / maxBatch));
          for (const call of calls) expect(new Set(call).size).toBe(call.length);
          expect(calls.flat().sort()).toEqual(
            [...Array(calls.length).keys()]
              .flatMap((i) => [...new Set(ids.slice(i * maxBatch, (i + 1) * maxBatch))])
              .sort(),
          );
        },
      ),
    );
  });

  it("sends lookups of different turns separately", async () => {
    const { calls, fetchMany } = recordingFetch(new Map([["a", 1]]));
    const lookup = coalesceLookups(fetchMany);
    expect(await lookup("a")).toBe(1);
    expect(await lookup("b")).toBeUndefined();
    expect(calls).toEqual([["a"], ["b"]]);
  });

  it("rejects every lookup of a failed fetch, and the next turn fetches again", async () => {
    let fail = true;
    const lookup = coalesceLookups(async (ids: readonly string[]) => {
      if (fail) throw new Error("redis down");
      return new Map(ids.map((id) => [id, id.length]));
    });
    const results = await Promise.allSettled([lookup("x"), lookup("yy")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await lookup("yy")).toBe(2);
  });
});
