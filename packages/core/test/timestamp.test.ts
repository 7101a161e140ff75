import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { formatIsoUtc, MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS } from "../src/civil.js";
import {
  IsoTimestamp,
  isEpochMs,
  parseIsoTimestamp,
  parseTimestamp,
  readIsoTimestamp,
} from "../src/timestamp.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1000 };

describe("parseTimestamp", () => {
  it("reads the seed's example and Python's utcnow().isoformat() (naive = UTC)", () => {
    expect(parseTimestamp("2024-01-01T12:00:00Z")).toEqual({
      ok: true,
      ms: Date.UTC(2024, 0, 1, 12),
      naive: false,
    });
    expect(parseTimestamp("2024-01-01T12:00:00.123456")).toEqual({
      ok: true,
      ms: Date.UTC(2024, 0, 1, 12, 0, 0, 123),
      naive: true,
    });
    // isoformat() omits the fraction when microsecond == 0
    expect(parseTimestamp("2024-01-01T12:00:00")).toEqual({
      ok: true,
      ms: Date.UTC(2024, 0, 1, 12),
      naive: true,
    });
  });

  it("accepts offsets, minutes-only times, space and lowercase separators", () => {
    const noon = Date.UTC(2026, 10, 25, 12);
    expect(parseIsoTimestamp("2026-11-25T14:00:00+02:00")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25T06:30:00-0530")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25T15:00:00+03")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25T12:00Z")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25 12:00:00")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25t12:00:00z")).toBe(noon);
    expect(parseIsoTimestamp("2026-11-25T12:00:00.5Z")).toBe(noon + 500);
    expect(parseIsoTimestamp("2026-11-25T12:00:00.123456789Z")).toBe(noon + 123);
  });

  it("truncates fractions to the millisecond (an event never moves to the next second or hour)", () => {
    expect(parseIsoTimestamp("2026-11-25T12:59:59.999999Z")).toBe(Date.UTC(2026, 10, 25, 12, 59, 59, 999));
  });

  it("accepts integer epoch milliseconds as JSON numbers", () => {
    expect(parseTimestamp(1_764_072_000_000)).toEqual({ ok: true, ms: 1_764_072_000_000, naive: false });
    expect(parseTimestamp(0)).toEqual({ ok: true, ms: 0, naive: false });
    expect(parseTimestamp(-1000)).toEqual({ ok: true, ms: -1000, naive: false });
    expect(parseTimestamp(1.5)).toEqual({ ok: false });
    expect(parseTimestamp(Number.NaN)).toEqual({ ok: false });
    expect(parseTimestamp(8.64e15)).toEqual({ ok: false });
    expect(isEpochMs(MAX_EVENT_TIME_MS)).toBe(true);
    expect(isEpochMs(MAX_EVENT_TIME_MS + 1)).toBe(false);
  });

  it("rejects date-only strings, numeric strings, impossible dates and malformed text", () => {
    for (const text of [
      "2026-11-25",
      "1764072000000",
      "2026-13-01T00:00:00Z",
      "2026-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-11-25T24:00:00Z",
      "2026-11-25T23:60:00Z",
      "2026-11-25T23:59:60Z",
      "2026-11-25T12:00:00.Z",
      "2026-11-25T12:00:00.1234567890Z",
      "2026-11-25T12:00:00+24:00",
      "2026-11-25T12:00:00+02:60",
      "2026-11-25T12:00:00+2",
      "2026-11-25T12:00:00 Z",
      "2026-11-25T12:00:00ZZ",
      "2026-11-25X12:00:00Z",
      "26-11-25T12:00:00Z",
      "+2026-11-25T12:00:00Z",
      "2026-1-25T12:00:00Z",
      "yesterday",
      "",
      "２０２６-11-25T12:00:00Z",
    ]) {
      expect(parseTimestamp(text), text).toEqual({ ok: false });
    }
    for (const value of [null, undefined, true, {}, [], "x".repeat(100)]) {
      expect(parseTimestamp(value)).toEqual({ ok: false });
    }
  });

  it("handles leap days and the 0000..9999 range without throwing", () => {
    expect(parseIsoTimestamp("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTimestamp("2000-02-29T00:00:00Z")).toBe(Date.UTC(2000, 1, 29));
    expect(parseIsoTimestamp("1900-02-29T00:00:00Z")).toBeNaN();
    expect(parseIsoTimestamp("0000-01-01T00:00:00Z")).toBe(MIN_EVENT_TIME_MS);
    expect(parseIsoTimestamp("9999-12-31T23:59:59.999Z")).toBe(MAX_EVENT_TIME_MS);
    // Offsets that push the instant outside 0000..9999 are rejected, not thrown.
    expect(parseIsoTimestamp("0000-01-01T00:00:00+01:00")).toBeNaN();
    expect(parseIsoTimestamp("9999-12-31T23:59:59-01:00")).toBeNaN();
  });

  it("property: every instant of 0000..9999 round-trips through its ISO text (same as Date#toISOString)", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS }), (ms) => {
        const iso = formatIsoUtc(ms);
        expect(iso).toBe(new Date(ms).toISOString());
        expect(parseIsoTimestamp(iso)).toBe(ms);
        expect(parseTimestamp(iso.slice(0, -1))).toEqual({ ok: true, ms, naive: true });
      }),
      RUNS,
    );
  });

  it("property: a reused IsoTimestamp reads each string as parseTimestamp does, nothing carried over", () => {
    const text = fc.oneof(
      fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS }).map((ms) => formatIsoUtc(ms)),
      fc
        .integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS })
        .map((ms) => formatIsoUtc(ms).slice(0, -1)),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 10 }), (texts) => {
        const reading = new IsoTimestamp();
        for (const t of texts) {
          const ok = readIsoTimestamp(t, reading);
          const expected = parseTimestamp(t);
          expect(ok).toBe(expected.ok);
          if (expected.ok)
            expect({ ms: reading.ms, naive: reading.naive }).toEqual({
              ms: expected.ms,
              naive: expected.naive,
            });
          else expect(reading.ms).toBeNaN();
        }
      }),
      RUNS,
    );
  });

  it("property: arbitrary strings never throw and accepted ones lie in 0000..9999", () => {
    const near = fc
      .tuple(
        fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS }),
        fc.integer({ min: 0, max: 23 }),
        fc.string(),
      )
      .map(([ms, cut, tail]) => formatIsoUtc(ms).slice(0, cut) + tail);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 48 }), near), (text) => {
        const result = parseTimestamp(text);
        if (result.ok) {
          expect(result.ms).toBeGreaterThanOrEqual(MIN_EVENT_TIME_MS);
          expect(result.ms).toBeLessThanOrEqual(MAX_EVENT_TIME_MS);
        }
      }),
      RUNS,
    );
  });
});
