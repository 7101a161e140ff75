import { describe, expect, it } from "vitest";
import { LruTtlCache } from "../src/local-cache.js";

describe("LruTtlCache", () => {
  it("evicts the least recently used entry beyond maxEntries", () => {
    const cache = new LruTtlCache<number>(2, 1_000, () => 0);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toEqual({ value: 1 });
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toEqual({ value: 1 });
    expect(cache.size).toBe(2);
  });

  it("expires entries after ttlMs and caches null values (unknown advertisers)", () => {
    let now = 0;
    const cache = new LruTtlCache<number | null>(10, 100, () => now);
    cache.set("unknown", null);
    expect(cache.get("unknown")).toEqual({ value: null });
    now = 100;
    expect(cache.get("unknown")).toBeUndefined();
  });
});
