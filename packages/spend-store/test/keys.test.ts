import {
  BUDGET_MODES as CORE_MODES,
  PACING_MODES as CORE_PACING_MODES,
  NOT_SERVING_REASONS as CORE_REASONS,
  RESERVATION_REFUSALS as CORE_REFUSALS,
  BUDGET_SOURCES as CORE_SOURCES,
  isValidAdvertiserId as coreRule,
  formatShape,
  parseShape,
} from "@adpipe/core";
import {
  advertiserIdFromKey,
  BUDGET_MODES,
  BUDGET_SOURCES,
  isValidAdvertiserId as clientRule,
  NOT_SERVING_REASONS,
  PACING_MODES,
  parseShapeField,
  RESERVATION_REFUSALS,
} from "@adpipe/serving-client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spendKeys } from "../src/keys.js";

/** Redis Cluster's hash tag: from the first `{` to the first `}` after it, when not empty; else the whole key. */
function redisHashTag(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** Ids as the event contract accepts them, biased towards the characters a key syntax cares about. */
const validId = fc
  .array(
    fc.oneof(
      fc.constantFrom("{", "}", "%", "%7B", "%25", ":", "*", " ", "a", "9"),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }),
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((parts) => parts.join("").slice(0, 128))
  .filter((id) => coreRule(id));

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
      fc.property(validId, fc.constantFrom("adspend:", "t:x:", ""), (id, prefix) => {
        expect(advertiserIdFromKey(spendKeys(prefix).advertiser(id), prefix)).toBe(id);
      }),
      { numRuns: 1000 },
    );
  });

  it("ids with braces: every key of one advertiser has the same Redis Cluster hash tag, one per advertiser", () => {
    expect(spendKeys("p:").advertiser("adv{x}")).toBe("p:adv:{adv%7Bx%7D}");
    expect(spendKeys("p:").advertiser("}")).toBe("p:adv:{%7D}");
    expect(spendKeys("p:").advertiser("50%")).toBe("p:adv:{50%25}");
    fc.assert(
      fc.property(validId, validId, (a, b) => {
        const keys = spendKeys("adspend:");
        const tags = [keys.advertiser(a), keys.pending(a), keys.dedup(a, "2026-11-25")].map(redisHashTag);
        expect(new Set(tags).size).toBe(1);
        // The tag is the whole encoded id (never cut short by a brace), so different ids get different tags.
        expect(tags[0]).not.toBe(keys.advertiser(a));
        if (a !== b) expect(redisHashTag(keys.advertiser(b))).not.toBe(tags[0]);
      }),
      { numRuns: 2_000 },
    );
  });

  it("the client's advertiser-id rule is core's rule (the client must not depend on core)", () => {
    const anything = fc.oneof(
      fc.string({ maxLength: 140 }),
      fc.string({ unit: "binary", maxLength: 140 }),
      fc.constantFrom("", "\ud800", "a\udc00", "💸", "x".repeat(128), "x".repeat(129), "\u007f", "\u0085"),
    );
    fc.assert(
      fc.property(anything, (id) => {
        expect(clientRule(id)).toBe(coreRule(id));
      }),
      { numRuns: 5_000 },
    );
  });

  it("the client's reasons are core's reasons (the client must not depend on core)", () => {
    expect([...NOT_SERVING_REASONS]).toEqual([...CORE_REASONS]);
    expect([...BUDGET_SOURCES]).toEqual([...CORE_SOURCES]);
    expect([...BUDGET_MODES]).toEqual([...CORE_MODES]);
    expect([...PACING_MODES]).toEqual([...CORE_PACING_MODES]);
    expect([...RESERVATION_REFUSALS]).toEqual([...CORE_REFUSALS]);
  });

  it("the client reads `_shape` as core's parseShape does (property)", () => {
    const weights = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 23, maxLength: 25 });
    const field = fc.oneof(
      weights.map((w) => formatShape(w)),
      weights.map((w) => `${formatShape(w)},`),
      fc
        .array(fc.constantFrom("1", "-1", "1.5", "x", "", " 2", "1e3"), { minLength: 24, maxLength: 24 })
        .map((parts) => parts.join(",")),
      fc.string(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(field, (text) => {
        expect(parseShapeField(text)).toEqual(parseShape(text));
      }),
      { numRuns: 2_000 },
    );
  });
});
