import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasBadIdChars, idProblem, isValidAdvertiserId, MAX_ADVERTISER_ID_LENGTH } from "../src/ids.js";
import { parseEvent } from "../src/parse-event.js";

const NOW = Date.UTC(2026, 10, 25, 12);

function contractAcceptsAdvertiserId(id: string): boolean {
  const event = {
    event_type: "ad_click",
    click_id: "c-1",
    advertiser: "Acme",
    advertiser_id: id,
    ad_id: "ad-1",
    amount: "0.25",
    timestamp: new Date(NOW).toISOString(),
  };
  const parsed = parseEvent(JSON.stringify(event), { referenceTimeMs: NOW });
  return parsed.ok && parsed.isValid && parsed.advertiserId === id;
}

/** Strings that mix every kind of character an id might hold: braces, %, controls, emoji, lone surrogates. */
const idLike = fc
  .array(
    fc.oneof(
      fc.constantFrom("{", "}", "%", "/", ":", " ", ",", ";", "?", "#", "*", "\u0000", "\u001f", "\u007f"),
      fc.constantFrom("\u0085", "\u202e", "\u200b", "€", "💸", "\ud800", "\udc00", "a", "Z", "9", "-"),
      fc.string({ unit: "grapheme", maxLength: 3 }),
    ),
    { minLength: 0, maxLength: 70 },
  )
  .map((parts) => parts.join(""));

describe("the advertiser-id rule", () => {
  it("accepts braces, %, slashes and emoji; refuses control characters, lone surrogates, empty and > 128", () => {
    for (const ok of ["adv{x}", "{adv}", "}", "a%7Bb", "a/b", "   ", "💸".repeat(64), "x".repeat(128)])
      expect(isValidAdvertiserId(ok), JSON.stringify(ok)).toBe(true);
    expect(idProblem("")).toBe("empty");
    expect(idProblem("x".repeat(MAX_ADVERTISER_ID_LENGTH + 1))).toBe("too_long");
    for (const bad of ["a\u0000b", "tab\there", "del\u007f", "lone\ud800", "\udc00x"])
      expect(idProblem(bad), JSON.stringify(bad)).toBe("invalid_characters");
    expect(hasBadIdChars("💸")).toBe(false);
  });

  it("property: the event contract accepts an advertiser_id exactly when the rule does", () => {
    fc.assert(
      fc.property(idLike, (id) => {
        expect(contractAcceptsAdvertiserId(id)).toBe(id !== "" && isValidAdvertiserId(id));
      }),
      { numRuns: 2_000 },
    );
  });
});
