import { NOT_SERVING_REASONS as CORE_REASONS } from "@adpipe/core";
import { advertiserIdFromKey, NOT_SERVING_REASONS } from "@adpipe/serving-client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spendKeys } from "../src/keys.js";

describe("spendKeys", () => {
  it("names every per-advertiser key with the same {advertiser_id} hash tag", () => {
    const keys = spendKeys("adspend:");
    expect(keys.advertiser("123")).toBe("adspend:adv:{123}");
    expect(keys.pending("123")).toBe("adspend:pending:{123}");
    expect(keys.dedup("123", "2026-11-25")).toBe("adspend:dedup:{123}:2026-11-25");
    expect(keys.meta("ad-clicks")).toBe("adspend:meta:{ad-clicks}");
    expect(keys.rebuildLock("ad-clicks")).toBe("adspend:lock:{ad-clicks}");
  });

  it("escapes glob characters of the prefix in SCAN patterns", () => {
    expect(spendKeys("a*b?:").patterns.advertiser).toBe("a\\*b\\?:adv:{*}");
  });

  it("the advertiser id round-trips through the key", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.constantFrom("adspend:", "t:x:", ""),
        (id, prefix) => {
          expect(advertiserIdFromKey(spendKeys(prefix).advertiser(id), prefix)).toBe(id);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("the client's reasons are core's reasons (the client must not depend on core)", () => {
    expect([...NOT_SERVING_REASONS]).toEqual([...CORE_REASONS]);
  });
});
