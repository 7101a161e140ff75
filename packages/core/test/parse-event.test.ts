import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  ERROR_CODES,
  type ErrorCode,
  type ParsedEvent,
  type ParseOptions,
  type ParseResult,
  REJECTION_CODES,
  WARNING_CODES,
} from "../src/contract.js";
import { CoreError } from "../src/errors.js";
import {
  DEFAULT_PARSE_OPTIONS,
  FIELD_MAX_LENGTH,
  KNOWN_FIELDS,
  ParseContext,
  parseEvent,
  validateEventValue,
} from "../src/parse-event.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1000 };
const NOW = Date.UTC(2024, 0, 1, 12, 30);
const OPTIONS: ParseOptions = { referenceTimeMs: NOW };
const encoder = new TextEncoder();

/** The seed README's example event. */
const SEED_EXAMPLE =
  '{"event_type":"ad_click","click_id":"unique-click-id","advertiser":"advertiser-123","ad_id":"ad-456","amount":0.50,"budget_value":1000.0,"timestamp":"2024-01-01T12:00:00Z"}';

const CLICK = {
  event_type: "ad_click",
  click_id: "c-1",
  advertiser: "Advertiser 1",
  advertiser_id: "adv-1",
  ad_id: "ad-1",
  amount: 0.5,
  timestamp: "2024-01-01T12:00:00Z",
};

function parsed(payload: Uint8Array | string | null | undefined, options = OPTIONS): ParsedEvent {
  const result = parseEvent(payload, options);
  if (!result.ok) throw new Error(`rejected: ${result.reason} ${result.detail}`);
  return result;
}

function click(overrides: Record<string, unknown>, drop: string[] = [], options = OPTIONS): ParsedEvent {
  const event: Record<string, unknown> = { ...CLICK, ...overrides };
  for (const key of drop) delete event[key];
  return parsed(JSON.stringify(event), options);
}

function errorsOf(overrides: Record<string, unknown>, drop: string[] = []): readonly ErrorCode[] {
  return click(overrides, drop).errors;
}

describe("parseEvent: the seed's contract", () => {
  it("accepts the seed's example, defaulting advertiser_id to advertiser", () => {
    expect(parsed(encoder.encode(SEED_EXAMPLE))).toEqual({
      ok: true,
      eventType: "ad_click",
      clickId: "unique-click-id",
      reservationId: null,
      advertiser: "advertiser-123",
      advertiserId: "advertiser-123",
      adId: "ad-456",
      amountMicros: 500_000,
      budgetMicros: 1_000_000_000,
      budgetSource: "click",
      eventTimeMs: Date.UTC(2024, 0, 1, 12),
      errors: [],
      warnings: ["advertiser_id_defaulted"],
      isValid: true,
    });
  });

  it("reads reservation_id on clicks: an id like click_id, ignored on budget updates", () => {
    const click = (extra: string) =>
      parsed(
        `{"event_type":"ad_click","click_id":"c1","advertiser_id":"7","amount":1,"timestamp":"2024-01-01T12:00:00Z"${extra}}`,
      );
    expect(click("").reservationId).toBeNull();
    expect(click(',"reservation_id":null').reservationId).toBeNull();
    expect(click(',"reservation_id":"r-9"')).toMatchObject({
      reservationId: "r-9",
      isValid: true,
      warnings: [],
    });
    expect(click(',"reservation_id":42').reservationId).toBe("42");
    expect(click(',"reservation_id":"\\u0001"')).toMatchObject({ isValid: false, errors: ["field_invalid"] });
    expect(click(`,"reservation_id":"${"r".repeat(129)}"`)).toMatchObject({ errors: ["field_too_long"] });
    expect(click(',"reservation_id":{"a":1}')).toMatchObject({ errors: ["field_invalid"] });
    const update = parsed(
      '{"event_type":"budget_update","advertiser_id":"7","budget_value":5,"timestamp":"2024-01-01T12:00:00Z","reservation_id":"\\u0001"}',
    );
    expect(update).toMatchObject({ reservationId: null, isValid: true, warnings: [] });
  });

  it("accepts the seed producer's events: advertiser_id as a string, naive utcnow().isoformat() timestamps", () => {
    const event = parsed(
      '{"event_type":"ad_click","click_id":"8f1c","advertiser":"advertiser-7","advertiser_id":"7","ad_id":"ad-1","amount":1.25,"budget_value":500.0,"timestamp":"2024-01-01T12:00:00.123456"}',
    );
    expect(event.isValid).toBe(true);
    expect(event.advertiserId).toBe("7");
    expect(event.eventTimeMs).toBe(Date.UTC(2024, 0, 1, 12, 0, 0, 123));
    expect(event.warnings).toEqual(["timestamp_naive_utc"]);
  });

  it("reads the same event from bytes and from a string", () => {
    expect(parseEvent(encoder.encode(SEED_EXAMPLE), OPTIONS)).toEqual(parseEvent(SEED_EXAMPLE, OPTIONS));
  });

  it("accepts budget_update events without amount and click_id", () => {
    const event = parsed(
      '{"event_type":"budget_update","advertiser_id":"adv-1","budget_value":"250.50","timestamp":"2024-01-01T12:00:00Z"}',
    );
    expect(event).toMatchObject({
      eventType: "budget_update",
      budgetMicros: 250_500_000,
      amountMicros: null,
      clickId: null,
      isValid: true,
    });
  });

  it("ignores amount on budget_update events", () => {
    const event = parsed(
      '{"event_type":"budget_update","advertiser_id":"adv-1","amount":"junk","budget_value":1,"timestamp":"2024-01-01T12:00:00Z"}',
    );
    expect(event.isValid).toBe(true);
    expect(event.amountMicros).toBeNull();
  });

  it("reads budget_source on budget_update events: api, or budget_update when absent; click on clicks", () => {
    const update = (extra: string) =>
      parsed(
        `{"event_type":"budget_update","advertiser_id":"adv-1","budget_value":1${extra},"timestamp":"2024-01-01T12:00:00Z"}`,
      );
    expect(update("")).toMatchObject({ budgetSource: "budget_update", isValid: true });
    expect(update(',"budget_source":null')).toMatchObject({ budgetSource: "budget_update", isValid: true });
    expect(update(',"budget_source":"budget_update"')).toMatchObject({ budgetSource: "budget_update" });
    expect(update(',"budget_source":"api"')).toMatchObject({
      budgetSource: "api",
      isValid: true,
      warnings: [],
    });
    // Through JSON.parse (an escape leaves the fast path) the same.
    expect(update(',"budget_source":"\u0061pi"')).toMatchObject({ budgetSource: "api", isValid: true });
    // A budget_update cannot claim to be click-carried, nor name an unknown source.
    expect(update(',"budget_source":"click"').errors).toEqual(["field_invalid"]);
    expect(update(',"budget_source":"console"').errors).toEqual(["field_invalid"]);
    expect(update(',"budget_source":1').errors).toEqual(["field_invalid"]);
    // On a click the field is ignored: a click-carried budget stays click-carried.
    expect(click({ budget_value: 5, budget_source: "api" })).toMatchObject({
      budgetSource: "click",
      isValid: true,
      warnings: [],
    });
    expect(click({ budget_source: "junk" })).toMatchObject({ budgetSource: null, isValid: true });
    expect(click({}).budgetSource).toBeNull();
  });

  it("reads budget_mode on budget_update events", () => {
    const update = (extra: string, options: ParseOptions = OPTIONS) =>
      parsed(
        `{"event_type":"budget_update","advertiser_id":"adv-1","budget_value":1${extra},"timestamp":"2024-01-01T12:00:00Z"}`,
        options,
      );
    expect(update(',"budget_mode":"hard_cap"')).toMatchObject({
      budgetMode: "hard_cap",
      isValid: true,
      warnings: [],
    });
    expect(update(',"budget_mode":"observe"')).toMatchObject({ budgetMode: "observe", isValid: true });
    // Through JSON.parse (an escape leaves the fast path) the same.
    expect(update(',"budget_mode":"hard\u005fcap"')).toMatchObject({ budgetMode: "hard_cap", isValid: true });
    // Absent or null: no mode is set, the one in force stays.
    expect(update("").budgetMode).toBeUndefined();
    expect(update(',"budget_mode":null')).toMatchObject({
      budgetMode: undefined,
      isValid: true,
      warnings: [],
    });
    for (const junk of ['"HARD_CAP"', '"cap"', '""', "1", "true"]) {
      expect(update(`,"budget_mode":${junk}`).errors).toEqual(["field_invalid"]);
    }
    // Ignored on clicks, like budget_source.
    // Ignored on clicks, like budget_source: a contract field, so no unknown_fields warning either.
    expect(click({ budget_mode: "hard_cap" })).toMatchObject({ isValid: true, warnings: [] });
    expect(click({ budget_mode: "hard_cap" }).budgetMode).toBeUndefined();
    expect(click({ budget_mode: "junk" })).toMatchObject({ isValid: true, warnings: [] });
  });

  it("reads pacing on budget_update events (absent or null: the pacing in force stays)", () => {
    const update = (extra: string) =>
      parsed(
        `{"event_type":"budget_update","advertiser_id":"adv-1","budget_value":1${extra},"timestamp":"2024-01-01T12:00:00Z"}`,
        OPTIONS,
      );
    for (const pacing of ["asap", "even", "shaped"]) {
      expect(update(`,"pacing":"${pacing}"`)).toMatchObject({ pacing, isValid: true, warnings: [] });
    }
    expect(update(',"pacing":"ev\u0065n"')).toMatchObject({ pacing: "even", isValid: true });
    expect(update("").pacing).toBeUndefined();
    expect(update(',"pacing":null')).toMatchObject({ isValid: true, warnings: [] });
    expect(update(',"pacing":null').pacing).toBeUndefined();
    for (const junk of ['"EVEN"', '"fast"', '""', "1", "true"]) {
      expect(update(`,"pacing":${junk}`).errors).toEqual(["field_invalid"]);
    }
    expect(click({ pacing: "even" })).toMatchObject({ isValid: true, warnings: [] });
    expect(click({ pacing: "even" }).pacing).toBeUndefined();
  });

  it("normalises numeric ids to decimal strings", () => {
    const event = click({ advertiser_id: 12345, click_id: 987, ad_id: 0 });
    expect(event).toMatchObject({ advertiserId: "12345", clickId: "987", adId: "0", isValid: true });
    expect(errorsOf({ advertiser_id: 1.5 })).toEqual(["field_invalid"]);
    expect(errorsOf({ advertiser_id: -1 })).toEqual(["field_invalid"]);
    expect(errorsOf({ advertiser_id: 2 ** 53 })).toEqual(["field_invalid"]);
    expect(errorsOf({ click_id: true })).toEqual(["click_id_invalid"]);
  });

  it("treats null and empty strings as absent", () => {
    expect(click({ budget_value: null }).isValid).toBe(true);
    expect(click({ ad_id: null }).adId).toBeNull();
    expect(click({ ad_id: "" }).isValid).toBe(true);
    expect(errorsOf({ click_id: "" })).toEqual(["click_id_missing"]);
    expect(errorsOf({ click_id: null })).toEqual(["click_id_missing"]);
  });
});

describe("parseEvent: rejections (not an event object)", () => {
  const reject = (payload: Uint8Array | string | null | undefined, options = OPTIONS): ParseResult =>
    parseEvent(payload, options);

  it("payload_empty: null, undefined (Kafka tombstones) and zero bytes", () => {
    expect(reject(null)).toMatchObject({ ok: false, reason: "payload_empty" });
    expect(reject(undefined)).toMatchObject({ ok: false, reason: "payload_empty" });
    expect(reject(new Uint8Array(0))).toMatchObject({ ok: false, reason: "payload_empty" });
    expect(reject("")).toMatchObject({ ok: false, reason: "payload_empty" });
  });

  it("payload_too_large: checked on bytes before decoding, on UTF-8 length for strings", () => {
    const big = new Uint8Array(DEFAULT_PARSE_OPTIONS.maxPayloadBytes + 1).fill(0xff);
    expect(reject(big)).toMatchObject({ ok: false, reason: "payload_too_large" });
    expect(reject(new Uint8Array(101).fill(32), { ...OPTIONS, maxPayloadBytes: 100 })).toMatchObject({
      reason: "payload_too_large",
    });
    // 40 × "€" is 40 UTF-16 units but 120 UTF-8 bytes
    expect(reject(`"${"€".repeat(40)}"`, { ...OPTIONS, maxPayloadBytes: 100 })).toMatchObject({
      reason: "payload_too_large",
    });
    expect(reject(`"${"€".repeat(30)}"`, { ...OPTIONS, maxPayloadBytes: 100 })).toMatchObject({
      reason: "not_an_object",
    });
    expect(reject("x".repeat(101), { ...OPTIONS, maxPayloadBytes: 100 })).toMatchObject({
      reason: "payload_too_large",
    });
    const exactly = encoder.encode(JSON.stringify({ ...CLICK, pad: "" }));
    const fits = { ...OPTIONS, maxPayloadBytes: exactly.length };
    expect(reject(exactly, fits).ok).toBe(true);
  });

  it("invalid_utf8: strict decoding, never U+FFFD replacement", () => {
    for (const bytes of [
      [0xff],
      [0x7b, 0xc3, 0x28, 0x7d],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc0, 0xaf],
    ]) {
      expect(reject(Uint8Array.from(bytes))).toMatchObject({ ok: false, reason: "invalid_utf8" });
    }
    expect(reject(encoder.encode('{"advertiser":"Café"}')).ok).toBe(true);
    // A UTF-8 byte-order mark is dropped by the decoder.
    expect(reject(Uint8Array.from([0xef, 0xbb, 0xbf, ...encoder.encode(SEED_EXAMPLE)])).ok).toBe(true);
  });

  it("malformed_json: with a short detail", () => {
    for (const text of [
      "{",
      "{'a':1}",
      '{"a":1,}',
      "NaN",
      '{"a":01}',
      "   ",
      '{"a":"\u0001"}',
      "{} {}",
      "\u00ef\u00bb\u00bf{}",
    ]) {
      const result = reject(text);
      expect(result, text).toMatchObject({ ok: false, reason: "malformed_json" });
      if (!result.ok) expect(result.detail.length).toBeLessThanOrEqual(161);
    }
    expect(parseEvent(42 as unknown as string, OPTIONS)).toMatchObject({
      ok: false,
      reason: "malformed_json",
    });
  });

  it("not_an_object: arrays, strings, numbers, null, booleans", () => {
    for (const text of ["[]", "[1,2]", '"ad_click"', "42", "null", "true", '[{"event_type":"ad_click"}]']) {
      expect(reject(text), text).toMatchObject({ ok: false, reason: "not_an_object" });
    }
  });

  it("every rejection code is a contract error code", () => {
    for (const code of REJECTION_CODES) expect(ERROR_CODES).toContain(code);
  });
});

describe("parseEvent: findings on event objects", () => {
  it("event_type_missing and unknown_event_type", () => {
    expect(errorsOf({}, ["event_type"])).toEqual(["event_type_missing"]);
    expect(errorsOf({ event_type: "" })).toEqual(["event_type_missing"]);
    expect(errorsOf({ event_type: "ad_view" })).toEqual(["unknown_event_type"]);
    expect(errorsOf({ event_type: 1 })).toEqual(["unknown_event_type"]);
    const unknown = click({ event_type: "AD_CLICK" });
    expect(unknown.eventType).toBeNull();
    // Type-specific rules do not apply, but a readable amount is kept for the Bronze/Silver columns.
    expect(unknown.amountMicros).toBe(500_000);
  });

  it("click_id_missing, click_id_invalid, field_too_long", () => {
    expect(errorsOf({}, ["click_id"])).toEqual(["click_id_missing"]);
    expect(errorsOf({ click_id: ["x"] })).toEqual(["click_id_invalid"]);
    expect(errorsOf({ click_id: "a\u0000b" })).toEqual(["click_id_invalid"]);
    expect(errorsOf({ click_id: "\ud800" })).toEqual(["click_id_invalid"]);
    expect(errorsOf({ click_id: "x".repeat(FIELD_MAX_LENGTH.click_id) })).toEqual([]);
    expect(errorsOf({ click_id: "x".repeat(FIELD_MAX_LENGTH.click_id + 1) })).toEqual(["field_too_long"]);
    expect(click({ click_id: "😀".repeat(3) }).clickId).toBe("😀😀😀");
  });

  it("advertiser_missing, advertiser_id_defaulted, field_invalid, field_too_long", () => {
    expect(errorsOf({}, ["advertiser", "advertiser_id"])).toEqual(["advertiser_missing"]);
    const onlyId = click({}, ["advertiser"]);
    expect(onlyId).toMatchObject({ advertiser: null, advertiserId: "adv-1", isValid: true, warnings: [] });
    const onlyName = click({}, ["advertiser_id"]);
    expect(onlyName).toMatchObject({
      advertiserId: "Advertiser 1",
      warnings: ["advertiser_id_defaulted"],
      isValid: true,
    });
    expect(errorsOf({ advertiser_id: { id: 1 } })).toEqual(["field_invalid"]);
    expect(errorsOf({ advertiser: "bad\nname" })).toEqual(["field_invalid"]);
    expect(errorsOf({ advertiser_id: "x".repeat(129) })).toEqual(["field_too_long"]);
    expect(errorsOf({ advertiser: "x".repeat(256) })).toEqual([]);
    expect(errorsOf({ advertiser: "x".repeat(257) })).toEqual(["field_too_long"]);
    // A name that is fine as a name but too long to be the defaulted id.
    expect(errorsOf({ advertiser: "x".repeat(200) }, ["advertiser_id"])).toEqual(["field_too_long"]);
    expect(errorsOf({ ad_id: "x".repeat(129) })).toEqual(["field_too_long"]);
    expect(errorsOf({ ad_id: false })).toEqual(["field_invalid"]);
    // An invalid advertiser_id is not replaced by advertiser.
    expect(click({ advertiser_id: 1.5 }).advertiserId).toBeNull();
  });

  it("amount_missing, amount_not_numeric, amount_not_positive, amount_too_large, amount_too_precise", () => {
    expect(errorsOf({}, ["amount"])).toEqual(["amount_missing"]);
    expect(errorsOf({ amount: null })).toEqual(["amount_missing"]);
    expect(errorsOf({ amount: "abc" })).toEqual(["amount_not_numeric"]);
    expect(errorsOf({ amount: true })).toEqual(["amount_not_numeric"]);
    expect(errorsOf({ amount: "NaN" })).toEqual(["amount_not_numeric"]);
    expect(errorsOf({ amount: 0 })).toEqual(["amount_not_positive"]);
    expect(errorsOf({ amount: -0.5 })).toEqual(["amount_not_positive"]);
    expect(errorsOf({ amount: "-1e300" })).toEqual(["amount_not_positive"]);
    expect(errorsOf({ amount: 1000 })).toEqual([]);
    expect(errorsOf({ amount: 1000.000001 })).toEqual(["amount_too_large"]);
    expect(errorsOf({ amount: 1e300 })).toEqual(["amount_too_large"]);
    expect(errorsOf({ amount: "0.0000001" })).toEqual(["amount_too_precise"]);
    expect(click({ amount: "0.0000015" }).amountMicros).toBe(2);
    expect(click({ amount: "7" }).amountMicros).toBe(7_000_000);
    expect(click({ amount: 0 }).amountMicros).toBeNull();
    expect(parsed(JSON.stringify(CLICK), { ...OPTIONS, maxAmountMicros: 100_000 }).errors).toEqual([
      "amount_too_large",
    ]);
  });

  it("budget_missing, budget_not_numeric, budget_negative, budget_too_large, budget_too_precise", () => {
    const budget = (value: unknown): readonly ErrorCode[] =>
      parsed(
        JSON.stringify({
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: value,
          timestamp: NOW,
        }),
      ).errors;
    expect(
      parsed(JSON.stringify({ event_type: "budget_update", advertiser_id: "a", timestamp: NOW })).errors,
    ).toEqual(["budget_missing"]);
    expect(budget(null)).toEqual(["budget_missing"]);
    expect(budget(0)).toEqual([]);
    expect(budget("x")).toEqual(["budget_not_numeric"]);
    expect(budget(-1)).toEqual(["budget_negative"]);
    expect(budget("-1e400")).toEqual(["budget_negative"]);
    expect(budget(1e9)).toEqual([]);
    expect(budget(1e9 + 1)).toEqual(["budget_too_large"]);
    expect(budget("1e400")).toEqual(["budget_too_large"]);
    expect(budget("0.0000001")).toEqual(["budget_too_precise"]);
    // On clicks budget_value is optional, but when present it must be readable.
    expect(errorsOf({ budget_value: -5 })).toEqual(["budget_negative"]);
    expect(click({ budget_value: "12.5" }).budgetMicros).toBe(12_500_000);
  });

  it("timestamp_missing, timestamp_invalid, timestamp_in_future, timestamp_too_late (judged against the record time)", () => {
    expect(errorsOf({}, ["timestamp"])).toEqual(["timestamp_missing"]);
    expect(errorsOf({ timestamp: "" })).toEqual(["timestamp_missing"]);
    expect(errorsOf({ timestamp: "yesterday" })).toEqual(["timestamp_invalid"]);
    expect(errorsOf({ timestamp: "1704110400000" })).toEqual(["timestamp_invalid"]);
    expect(errorsOf({ timestamp: { t: 1 } })).toEqual(["timestamp_invalid"]);
    expect(errorsOf({ timestamp: 1.5 })).toEqual(["timestamp_invalid"]);
    expect(click({ timestamp: "2024-01-01T12:00:00.5" }).eventTimeMs).toBe(
      Date.UTC(2024, 0, 1, 12, 0, 0, 500),
    );
    const skew = DEFAULT_PARSE_OPTIONS.maxFutureSkewMs;
    expect(errorsOf({ timestamp: NOW + skew })).toEqual([]);
    expect(errorsOf({ timestamp: NOW + skew + 1 })).toEqual(["timestamp_in_future"]);
    const horizon = DEFAULT_PARSE_OPTIONS.latenessHorizonMs;
    expect(errorsOf({ timestamp: NOW - horizon })).toEqual([]);
    expect(errorsOf({ timestamp: NOW - horizon - 1 })).toEqual(["timestamp_too_late"]);
    const late = click({ timestamp: NOW - horizon - 1 });
    expect(late.eventTimeMs).toBe(NOW - horizon - 1); // still recorded, with its time
    expect(errorsOf({ timestamp: "0000-01-01T00:00:00Z" })).toEqual(["timestamp_too_late"]);
    expect(errorsOf({ timestamp: "9999-12-31T23:59:59Z" })).toEqual(["timestamp_in_future"]);
    const custom = { referenceTimeMs: NOW, maxFutureSkewMs: 0, latenessHorizonMs: 1000 };
    expect(parsed(JSON.stringify({ ...CLICK, timestamp: NOW + 1 }), custom).errors).toEqual([
      "timestamp_in_future",
    ]);
    expect(parsed(JSON.stringify({ ...CLICK, timestamp: NOW - 1001 }), custom).errors).toEqual([
      "timestamp_too_late",
    ]);
  });

  it("timestamp_naive_utc and unknown_fields warnings keep the event valid", () => {
    const event = click({ timestamp: "2024-01-01T12:00:00", campaign: "x", __proto__: 1 });
    expect(event.isValid).toBe(true);
    expect(event.warnings).toEqual(["timestamp_naive_utc", "unknown_fields"]);
  });

  it("collects several findings in a fixed field order, each code once", () => {
    expect(
      errorsOf({
        click_id: "",
        advertiser_id: "x".repeat(200),
        ad_id: "y".repeat(200),
        amount: -1,
        timestamp: "bad",
      }),
    ).toEqual(["click_id_missing", "field_too_long", "amount_not_positive", "timestamp_invalid"]);
  });

  it("is not fooled by __proto__ or constructor keys, nor by a polluted Object.prototype", () => {
    const hostile = parsed(
      '{"__proto__":{"amount":999,"advertiser_id":"evil"},"constructor":{"prototype":{"x":1}},"event_type":"ad_click","click_id":"c","advertiser_id":"a","amount":1,"timestamp":"2024-01-01T12:00:00Z"}',
    );
    expect(hostile).toMatchObject({
      isValid: true,
      advertiserId: "a",
      amountMicros: 1_000_000,
      warnings: ["unknown_fields"],
    });
    expect(({} as Record<string, unknown>).amount).toBeUndefined();
    const withoutAmount =
      '{"event_type":"ad_click","click_id":"c","advertiser_id":"a","timestamp":"2024-01-01T12:00:00Z"}';
    const proto = Object.prototype as unknown as Record<string, unknown>;
    proto.amount = 5;
    try {
      expect(parsed(withoutAmount).errors).toEqual(["amount_missing"]);
      expect(validateEventValue(JSON.parse(withoutAmount), OPTIONS)).toMatchObject({
        errors: ["amount_missing"],
      });
    } finally {
      delete proto.amount;
    }
  });

  it("takes the last of repeated keys, as JSON.parse does", () => {
    expect(
      parsed(
        '{"event_type":"ad_click","click_id":"c","advertiser_id":"a","amount":1,"amount":2,"timestamp":0}',
        { referenceTimeMs: 0 },
      ).amountMicros,
    ).toBe(2_000_000);
  });

  it("uses the full JSON parser for escapes, whitespace and nested values, with the same result", () => {
    const escaped = parsed(
      '{"event_type":"ad_\\u0063lick","click_id":"c\\"1","advertiser_id":"a","amount":1,"timestamp":0,"meta":{"k":[1]}}',
      {
        referenceTimeMs: 0,
      },
    );
    expect(escaped).toMatchObject({
      eventType: "ad_click",
      clickId: 'c"1',
      isValid: true,
      warnings: ["unknown_fields"],
    });
    expect(parsed(JSON.stringify(CLICK, null, 2))).toEqual(parsed(JSON.stringify(CLICK)));
  });

  it("throws CoreError invalid_options for a non-finite reference time (a programming error, not input)", () => {
    expect(() => parseEvent(SEED_EXAMPLE, { referenceTimeMs: Number.NaN })).toThrow(CoreError);
  });

  it("every documented code can be produced", () => {
    const BUDGET_SHAPE = { event_type: "budget_update", advertiser_id: "a", budget_value: 1, timestamp: NOW };
    const seen = new Set<string>();
    const samples: Array<Uint8Array | string | null> = [
      null,
      new Uint8Array(70_000),
      Uint8Array.from([0xff]),
      "{",
      "[]",
      JSON.stringify({ ...CLICK, event_type: "x" }),
      JSON.stringify({ ...CLICK, event_type: undefined, click_id: [1] }),
      JSON.stringify({ ...CLICK, click_id: undefined, advertiser: undefined, advertiser_id: undefined }),
      JSON.stringify({ ...CLICK, advertiser_id: true, ad_id: "x".repeat(300) }),
      JSON.stringify({ ...CLICK, amount: undefined, timestamp: undefined }),
      JSON.stringify({ ...CLICK, amount: "x", budget_value: "x", timestamp: "x" }),
      JSON.stringify({ ...CLICK, amount: 0, budget_value: -1, timestamp: NOW + 86_400_000 }),
      JSON.stringify({ ...CLICK, amount: 1e6, budget_value: 1e12, timestamp: 0 }),
      JSON.stringify({ ...CLICK, amount: 1e-9, budget_value: 1e-9, extra: 1 }),
      JSON.stringify({ event_type: "budget_update", advertiser: "a", timestamp: "2024-01-01T12:00:00" }),
      JSON.stringify({ ...BUDGET_SHAPE, budget_period: "week", time_zone: "Mars/Olympus" }),
    ];
    for (const sample of samples) {
      const result = parseEvent(sample, OPTIONS);
      if (result.ok) for (const code of [...result.errors, ...result.warnings]) seen.add(code);
      else seen.add(result.reason);
    }
    expect([...seen].sort()).toEqual([...ERROR_CODES, ...WARNING_CODES].sort());
  });
});

describe("parseEvent: a reused ParseContext", () => {
  it("parses every payload as a fresh context does, whatever was parsed before", () => {
    const key = fc.constantFrom(...KNOWN_FIELDS, "x");
    const value = fc.oneof(
      fc.constantFrom("ad_click", "budget_update", "2024-01-01T12:00:00Z", "2024-01-01T12:00:00", "0.5", ""),
      fc.jsonValue({ maxDepth: 1 }),
    );
    // Flat objects take the scanner, nested or escaped ones JSON.parse, anything else is rejected.
    const payload = fc.oneof(
      fc.dictionary(key, value).map((json) => JSON.stringify(json)),
      fc.string({ maxLength: 60 }),
    );
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 12 }), (payloads) => {
        const reused = new ParseContext();
        for (const text of payloads) {
          expect(parseEvent(text, OPTIONS, reused)).toEqual(parseEvent(text, OPTIONS, new ParseContext()));
          const value = (() => {
            try {
              return JSON.parse(text) as unknown;
            } catch {
              return undefined;
            }
          })();
          expect(validateEventValue(value, OPTIONS, reused)).toEqual(validateEventValue(value, OPTIONS));
        }
      }),
      RUNS,
    );
  });
});

describe("parseEvent: properties", () => {
  const check = (result: ParseResult): void => {
    if (result.ok) {
      expect(result.isValid).toBe(result.errors.length === 0);
      for (const code of result.errors) expect(ERROR_CODES).toContain(code);
      for (const code of result.warnings) expect(WARNING_CODES).toContain(code);
      for (const code of result.errors) expect(REJECTION_CODES).not.toContain(code);
      if (result.amountMicros !== null) expect(Number.isSafeInteger(result.amountMicros)).toBe(true);
      if (result.isValid && result.eventType === "ad_click") {
        expect(result.amountMicros).toBeGreaterThan(0);
        expect(result.clickId).not.toBeNull();
        expect(result.advertiserId).not.toBeNull();
      }
    } else {
      expect(REJECTION_CODES).toContain(result.reason);
    }
  };

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -1e13, max: 1e13 }), (bytes, ref) => {
        check(parseEvent(bytes, { referenceTimeMs: ref }));
      }),
      RUNS,
    );
  });

  it("never throws on arbitrary strings (including lone surrogates)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        check(parseEvent(text, OPTIONS));
      }),
      RUNS,
    );
  });

  it("never throws on arbitrary JSON values and objects with contract keys", () => {
    const key = fc.constantFrom(...KNOWN_FIELDS, "__proto__", "constructor", "x");
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        "ad_click",
        "budget_update",
        "2024-01-01T12:00:00Z",
        "2024-01-01T12:00:00",
        "0.5",
        "-1",
        "1e-7",
        "abc",
        "",
      ),
      fc.double(),
      fc.string({ unit: "binary" }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(key, value)), (json) => {
        const text = JSON.stringify(json) ?? "null";
        check(parseEvent(text, OPTIONS));
        check(parseEvent(encoder.encode(text), OPTIONS));
      }),
      RUNS,
    );
  });

  it("the fast path and JSON.parse path agree on every object", () => {
    const key = fc.constantFrom(
      "event_type",
      "click_id",
      "advertiser",
      "advertiser_id",
      "ad_id",
      "amount",
      "budget_value",
      "timestamp",
      "budget_source",
      "__proto__",
      "y",
    );
    const value = fc.oneof(
      fc.constantFrom(
        "ad_click",
        "budget_update",
        "api",
        "2024-01-01T12:00:00Z",
        "2024-01-01T12:00:00.123456",
        "0.5",
        "x",
        "",
        null,
        true,
        false,
      ),
      fc.double(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.string(),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.jsonValue({ maxDepth: 1 }),
    );
    fc.assert(
      fc.property(fc.dictionary(key, value), fc.constantFrom(0, 2), (object, indent) => {
        const text = JSON.stringify(object, null, indent);
        expect(parseEvent(text, OPTIONS)).toEqual(validateEventValue(JSON.parse(text), OPTIONS));
      }),
      RUNS,
    );
  });
});
