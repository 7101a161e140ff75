import { describe, expect, it } from "vitest";
import { CoreError } from "../src/errors.js";
import { Prng, ZipfSampler } from "../src/random.js";

describe("Prng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it("stays in range and is roughly uniform", () => {
    const rng = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[Math.floor(x * 10)]! += 1;
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(-3, 3);
      expect(Number.isInteger(n) && n >= -3 && n <= 3).toBe(true);
      const big = rng.int(0, 2 ** 40);
      expect(Number.isInteger(big) && big >= 0 && big <= 2 ** 40).toBe(true);
    }
  });

  it("rejects unusable seeds and empty picks", () => {
    expect(() => new Prng(0.5)).toThrow(CoreError);
    expect(() => new Prng(1).pick([])).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_OPTIONS" }),
    );
    expect(new Prng(0).nextUint32()).toBeTypeOf("number");
  });
});

describe("ZipfSampler", () => {
  it("skews towards low ranks as 1/(k+1)^s", () => {
    const rng = new Prng(1);
    const zipf = new ZipfSampler(5, 1);
    const counts = new Array<number>(5).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[zipf.sample(rng)]! += 1;
    const harmonic = 1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5;
    counts.forEach((count, k) => {
      expect(Math.abs(count / n - 1 / (k + 1) / harmonic)).toBeLessThan(0.01);
    });
  });

  it("is uniform with exponent 0 and validates its parameters", () => {
    const rng = new Prng(2);
    const zipf = new ZipfSampler(4, 0);
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 40_000; i++) counts[zipf.sample(rng)]! += 1;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    expect(() => new ZipfSampler(0, 1)).toThrow(CoreError);
    expect(() => new ZipfSampler(3, -1)).toThrow(CoreError);
    expect(() => new ZipfSampler(3, Number.NaN)).toThrow(CoreError);
  });
});
