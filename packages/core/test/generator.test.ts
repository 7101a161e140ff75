import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MS_PER_DAY } from "../src/civil.js";
import type { ParsedEvent } from "../src/contract.js";
import { CoreError } from "../src/errors.js";
import {
  DEFAULT_GENERATOR_START_MS,
  GENERATOR_PACINGS,
  type GeneratedKind,
  type GeneratedRecord,
  type GeneratorOptions,
  generateStream,
  pythonUtcIsoformat,
} from "../src/generator.js";
import { DEFAULT_PARSE_OPTIONS, parseEvent } from "../src/parse-event.js";

const decoder = new TextDecoder();

function generate(options: GeneratorOptions): GeneratedRecord[] {
  return [...generateStream(options)];
}

function countKinds(records: readonly GeneratedRecord[]): Record<GeneratedKind, number> {
  const counts = { click: 0, duplicate: 0, malformed: 0, late: 0, future: 0, invalid: 0, budget_update: 0 };
  for (const r of records) counts[r.kind]++;
  return counts;
}

describe("generateStream", () => {
  const records = generate({ seed: 11, events: 20_000, advertisers: 12 });

  it("is deterministic for a seed and different across seeds", () => {
    const again = generate({ seed: 11, events: 20_000, advertisers: 12 });
    expect(again.length).toBe(records.length);
    const fingerprint = (rs: readonly GeneratedRecord[]): string[] =>
      rs.map((r) => `${r.key}|${r.timestampMs}|${r.kind}|${Buffer.from(r.value).toString("base64")}`);
    expect(fingerprint(again)).toEqual(fingerprint(records));
    const other = generate({ seed: 12, events: 200, advertisers: 12 });
    expect(other.map((r) => decoder.decode(r.value))).not.toEqual(
      records.slice(0, 200).map((r) => decoder.decode(r.value)),
    );
  });

  it("yields exactly `events` records with non-decreasing record timestamps crossing a UTC day boundary", () => {
    expect(records.length).toBe(20_000);
    for (let i = 1; i < records.length; i++)
      expect(records[i]!.timestampMs).toBeGreaterThanOrEqual(records[i - 1]!.timestampMs);
    const first = records[0]!.timestampMs;
    const last = records[records.length - 1]!.timestampMs;
    expect(first).toBe(DEFAULT_GENERATOR_START_MS);
    expect(Math.floor(last / MS_PER_DAY)).toBeGreaterThan(Math.floor(first / MS_PER_DAY));
    expect(last - first).toBeGreaterThan(5 * 3_600_000);
  });

  it("labels every record truthfully", () => {
    // Mismatches are collected and asserted once: 20,000 expect() calls would dominate the test time.
    const problems: string[] = [];
    const seen = new Map<string, number>();
    for (const [index, r] of records.entries()) {
      const result = parseEvent(r.value, { referenceTimeMs: r.timestampMs });
      const text = decoder.decode(r.value);
      const ok = (() => {
        switch (r.kind) {
          case "malformed":
            return !result.ok;
          case "click":
            return result.ok && result.isValid && result.eventType === "ad_click";
          case "budget_update":
            return result.ok && result.isValid && result.eventType === "budget_update";
          case "late":
            return result.ok && result.errors.includes("timestamp_too_late");
          case "future":
            return result.ok && result.errors.includes("timestamp_in_future");
          case "invalid":
            return result.ok && !result.isValid;
          case "duplicate":
            return seen.has(text) && records[seen.get(text) as number]?.key === r.key;
        }
      })();
      if (!ok) problems.push(`${r.kind}: ${text.slice(0, 200)}`);
      if (result.ok && result.advertiserId !== null && r.key !== result.advertiserId)
        problems.push(`key ${r.key}: ${text}`);
      if (
        r.kind !== "duplicate" &&
        seen.has(text) &&
        result.ok &&
        result.eventType === "ad_click" &&
        result.clickId !== null
      ) {
        problems.push(`click_id reused outside a duplicate: ${text}`);
      }
      if (!seen.has(text)) seen.set(text, index);
    }
    expect(problems).toEqual([]);
  }, 30_000);

  it("mixes kinds by the configured shares, starting with one budget per advertiser", () => {
    const counts = countKinds(records);
    expect(records.slice(0, 12).every((r) => r.kind === "budget_update")).toBe(true);
    expect(new Set(records.slice(0, 12).map((r) => r.key)).size).toBe(12);
    const n = records.length;
    expect(counts.duplicate / n).toBeGreaterThan(0.02);
    expect(counts.duplicate / n).toBeLessThan(0.04);
    expect(counts.malformed / n).toBeGreaterThan(0.005);
    expect(counts.malformed / n).toBeLessThan(0.015);
    expect(counts.invalid / n).toBeGreaterThan(0.014);
    expect(counts.late + counts.future).toBeGreaterThan(100);
    const none = countKinds(
      generate({
        seed: 3,
        events: 500,
        shares: { duplicate: 0, malformed: 0, late: 0, future: 0, invalid: 0, budgetUpdate: 0 },
      }),
    );
    expect(none.click).toBe(500 - 20);
    expect(none.budget_update).toBe(20);
  });

  it("sends Zipf-skewed traffic keyed by advertiser", () => {
    const perKey = new Map<string, number>();
    for (const r of records)
      if (r.kind === "click" && r.key !== null) perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
    const sorted = [...perKey.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(4 * sorted[sorted.length - 1]!);
  });

  it("includes the seed's exact shape: advertiser only, naive Python timestamps, float budgets", () => {
    const seedShaped = records
      .filter((r) => r.kind === "click")
      .map((r) => decoder.decode(r.value))
      .filter((t) => !t.includes("advertiser_id"));
    expect(seedShaped.length).toBeGreaterThan(100);
    const sample = JSON.parse(seedShaped[0]!) as Record<string, unknown>;
    expect(Object.keys(sample).sort()).toEqual([
      "ad_id",
      "advertiser",
      "amount",
      "budget_value",
      "click_id",
      "event_type",
      "timestamp",
    ]);
    expect(sample.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
    const parsed = parseEvent(seedShaped[0]!, { referenceTimeMs: Date.now() + 1e12 }) as ParsedEvent;
    expect(parsed.warnings).toContain("advertiser_id_defaulted");
    expect(parsed.warnings).toContain("timestamp_naive_utc");
    expect(records.some((r) => /"budget_value":\d+\.0[,}]/.test(decoder.decode(r.value)))).toBe(true);
    expect(records.some((r) => /"advertiser_id":\d+/.test(decoder.decode(r.value)))).toBe(true);
  });

  it("produces out-of-order event times within the horizon and oversized payloads beyond the limit", () => {
    let maxLag = 0;
    for (const r of records) {
      if (r.kind !== "click") continue;
      const result = parseEvent(r.value, { referenceTimeMs: r.timestampMs });
      if (result.ok && result.eventTimeMs !== null)
        maxLag = Math.max(maxLag, r.timestampMs - result.eventTimeMs);
    }
    expect(maxLag).toBeGreaterThan(3_600_000);
    expect(maxLag).toBeLessThanOrEqual(2 * 3_600_000);
    const big = generate({
      seed: 5,
      events: 3000,
      shares: { malformed: 1, duplicate: 0, late: 0, future: 0, invalid: 0, budgetUpdate: 0 },
    });
    expect(big.some((r) => r.value.byteLength > DEFAULT_PARSE_OPTIONS.maxPayloadBytes)).toBe(true);
    expect(big.some((r) => r.key === null)).toBe(true);
  });

  it("honours time options and run ids", () => {
    const start = Date.UTC(2030, 0, 1);
    const stream = generate({
      seed: 1,
      events: 10,
      startMs: start,
      intervalMs: 1000,
      runId: "run-x",
      initialBudgets: false,
    });
    expect(stream.map((r) => r.timestampMs)).toEqual(Array.from({ length: 10 }, (_, i) => start + i * 1000));
    expect(stream.some((r) => decoder.decode(r.value).includes('"click_id":"run-x-c'))).toBe(true);
  });

  it('budgetChannel "clicks": no budget_update events, every click carries the budget the advertiser set', () => {
    const stream = generate({
      seed: 5,
      events: 5_000,
      advertisers: 6,
      budgetChannel: "clicks",
      shares: { budgetUpdate: 0.02 },
    });
    expect(countKinds(stream).budget_update).toBe(0);
    const budgetsByAdvertiser = new Map<string, Set<number>>();
    for (const r of stream) {
      if (r.kind !== "click") continue;
      const event = parseEvent(r.value, { referenceTimeMs: r.timestampMs }) as ParsedEvent;
      expect(event.budgetSource).toBe("click");
      const seen = budgetsByAdvertiser.get(event.advertiserId ?? "") ?? new Set<number>();
      seen.add(event.budgetMicros ?? -1);
      budgetsByAdvertiser.set(event.advertiserId ?? "", seen);
    }
    // The advertisers change their budgets now and then (the budgetUpdate share): later clicks carry the new one.
    expect([...budgetsByAdvertiser.values()].some((budgets) => budgets.size > 1)).toBe(true);
    expect([...budgetsByAdvertiser.values()].every((budgets) => !budgets.has(-1))).toBe(true);
  });

  it("operator budgets are budget_update events, half marked api, that the clicks do not learn", () => {
    const stream = generate({ seed: 6, events: 4_000, advertisers: 3, shares: { operatorBudget: 0.05 } });
    const sources = { api: 0, budget_update: 0 };
    for (const r of stream) {
      if (r.kind !== "budget_update") continue;
      const event = parseEvent(r.value, { referenceTimeMs: r.timestampMs }) as ParsedEvent;
      expect(event.isValid).toBe(true);
      if (event.budgetSource === "api" || event.budgetSource === "budget_update")
        sources[event.budgetSource]++;
    }
    expect(sources.api).toBeGreaterThan(50);
    expect(sources.budget_update).toBeGreaterThan(50);
    // Without operator budgets the same seed gives the same records as before the share existed.
    expect(generate({ seed: 6, events: 500, shares: { operatorBudget: 0 } })).toEqual(
      generate({ seed: 6, events: 500 }),
    );
  });

  it("is lazy: a huge stream can be started without materialising it", () => {
    const iterator = generateStream({ seed: 1, events: 1e12 });
    for (let i = 0; i < 5; i++) expect(iterator.next().done).toBe(false);
  });

  it("rejects impossible options with CoreError invalid_options", () => {
    const bad: GeneratorOptions[] = [
      { seed: 1, events: -1 },
      { seed: 1, events: 1.5 },
      { seed: 1, events: 10, advertisers: 0 },
      { seed: 1, events: 10, shares: { duplicate: 0.6, malformed: 0.6 } },
      { seed: 1, events: 10, shares: { late: -0.1 } },
      { seed: 1, events: 10, amountMicros: { min: 0, max: 10 } },
      { seed: 1, events: 10, amountMicros: { min: 10, max: 5 } },
      { seed: 1, events: 10, amountMicros: { min: 1, max: 2_000_000_000 } },
      { seed: 0.5, events: 10 },
    ];
    for (const options of bad) {
      expect(() => generate(options), JSON.stringify(options)).toThrowError(
        expect.objectContaining({ code: "ADP_CORE_INVALID_OPTIONS" }),
      );
    }
    expect(() => generate({ seed: 1, events: 1, zipfExponent: -1 })).toThrow(CoreError);
  });
});

describe("pythonUtcIsoformat", () => {
  it("prints like datetime.utcnow().isoformat()", () => {
    expect(pythonUtcIsoformat(Date.UTC(2024, 0, 1, 12, 0, 0, 123), 456)).toBe("2024-01-01T12:00:00.123456");
    expect(pythonUtcIsoformat(Date.UTC(2024, 0, 1, 12, 0, 0, 0), 0)).toBe("2024-01-01T12:00:00");
    expect(pythonUtcIsoformat(Date.UTC(2024, 0, 1, 12, 0, 0, 0), 7)).toBe("2024-01-01T12:00:00.000007");
  });
});

describe("generateStream pacingShare", () => {
  const pacingOf = (r: GeneratedRecord): string | null => {
    const event = parseEvent(r.value, { referenceTimeMs: r.timestampMs });
    return event.ok && event.eventType === "budget_update" ? (event.pacing ?? null) : null;
  };

  it("pacingShare 0 leaves every stream byte-identical to one without the option (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, advertisers, hardCapShare, calendarShare) => {
          const base = {
            seed,
            events: 300,
            advertisers,
            hardCapShare,
            calendarShare,
            shares: { budgetUpdate: 0.05 },
          };
          expect(generate({ ...base, pacingShare: 0 })).toEqual(generate(base));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("pacing advertisers state their own mode first, switch now and then; the others never carry pacing (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, advertisers, pacingShare) => {
          const stream = generate({
            seed,
            events: 600,
            advertisers,
            pacingShare,
            shares: { budgetUpdate: 0.05, operatorBudget: 0.02 },
          });
          const firstPacing = new Map<string, string | null>();
          const modes = new Map<string, Set<string | null>>();
          for (const r of stream) {
            if (r.kind !== "budget_update" || r.key === null) continue;
            const pacing = pacingOf(r);
            if (!firstPacing.has(r.key)) firstPacing.set(r.key, pacing);
            const seen = modes.get(r.key) ?? new Set();
            seen.add(pacing);
            modes.set(r.key, seen);
          }
          // The initial budget_update of advertiser i (the i-th record) carries GENERATOR_PACINGS[i % 3] or none.
          const initial = stream.slice(0, Math.min(600, advertisers));
          initial.forEach((r, index) => {
            const pacing = pacingOf(r);
            if (pacing !== null) expect(pacing).toBe(GENERATOR_PACINGS[index % GENERATOR_PACINGS.length]);
          });
          const pacedCount = initial.filter((r) => pacingOf(r) !== null).length;
          if (pacingShare === 0) expect(pacedCount).toBe(0);
          if (pacingShare === 1) expect(pacedCount).toBe(initial.length);
          // An advertiser paces on every one of its updates or on none.
          for (const [key, seen] of modes) {
            if (firstPacing.get(key) === null) expect([...seen], key).toEqual([null]);
            else expect(seen.has(null), key).toBe(false);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a mixed stream has every mode, switches among them and leaves some advertisers unpaced", () => {
    const stream = generate({ seed: 3, events: 20_000, advertisers: 12, pacingShare: 0.7 });
    const counts = new Map<string | null, number>();
    for (const r of stream) {
      if (r.kind !== "budget_update") continue;
      const pacing = pacingOf(r);
      counts.set(pacing, (counts.get(pacing) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["asap", "even", null, "shaped"].sort());
  });

  it("rejects a pacingShare outside [0, 1]", () => {
    for (const pacingShare of [-0.1, 1.5, Number.NaN]) {
      expect(() => generate({ seed: 1, events: 10, pacingShare })).toThrowError(
        expect.objectContaining({ code: "ADP_CORE_INVALID_OPTIONS" }),
      );
    }
  });
});
