import {
  budgetPeriodOf,
  EventEffect,
  eventEffect,
  generateStream,
  type ParsedEvent,
  parseEvent,
} from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spendRecordOf } from "../src/from-event.js";
import { SliceBatch } from "../src/slices.js";

const T = Date.UTC(2026, 10, 25, 12);
const at = { partition: 2, offset: 40, timestampMs: T };

function record(json: object) {
  const parsed = parseEvent(JSON.stringify(json), { referenceTimeMs: T });
  if (!parsed.ok) throw new Error("expected a parsed event");
  return spendRecordOf(parsed, at);
}

describe("spendRecordOf", () => {
  it("turns a valid click with a budget into spend, a dedup key and a budget observation", () => {
    const eventTime = "2026-11-25T11:59:00Z";
    expect(
      record({
        event_type: "ad_click",
        click_id: "c1",
        advertiser_id: "7",
        amount: "0.1",
        budget_value: 2,
        timestamp: eventTime,
      }),
    ).toEqual({
      ...at,
      advertiserId: "7",
      spend: {
        eventTimeMs: Date.parse(eventTime),
        dedupKey: "c1",
        reservationId: "c1",
        grossMicros: 100_000,
        netMicros: 100_000,
        clicks: 1,
      },
      budget: { budgetMicros: 2_000_000, eventTimeMs: Date.parse(eventTime), source: "click" },
    });
  });

  it("counts an invalid click in gross only and takes no budget from it", () => {
    const r = record({
      event_type: "ad_click",
      click_id: "c2",
      advertiser_id: "7",
      amount: 5000,
      budget_value: 2,
      timestamp: "2026-11-25T11:59:00Z",
    });
    expect(r?.spend).toMatchObject({ grossMicros: 0, netMicros: 0, dedupKey: "c2" });
    expect(r?.budget).toBeNull();
  });

  it("turns a budget_update into a budget observation only", () => {
    const r = record({
      event_type: "budget_update",
      advertiser_id: "7",
      budget_value: "12.5",
      timestamp: "2026-11-25T11:00:00Z",
    });
    expect(r).toMatchObject({ spend: null, budget: { budgetMicros: 12_500_000, source: "budget_update" } });
    const api = record({
      event_type: "budget_update",
      advertiser_id: "7",
      budget_value: 3,
      budget_source: "api",
      timestamp: "2026-11-25T11:00:00Z",
    });
    expect(api?.budget).toMatchObject({ budgetMicros: 3_000_000, source: "api" });
  });

  it("ignores events that change nothing (no event time, unknown type)", () => {
    expect(record({ event_type: "ad_click", click_id: "c3", advertiser_id: "7", amount: 1 })).toBeNull();
    expect(
      record({ event_type: "ad_view", advertiser_id: "7", amount: 1, timestamp: "2026-11-25T11:00:00Z" }),
    ).toBeNull();
  });
});

describe("SliceBatch.add(eventEffect)", () => {
  const grouping = { periodOf: (t: number) => budgetPeriodOf(t, "day"), dedupByDay: false };

  /** Both ways into a batch; the packed slices (what apply_slice receives) must be the same bytes. */
  function expectSameAsSpendRecordOf(events: readonly (readonly [ParsedEvent, number])[]): void {
    const direct = new SliceBatch(grouping);
    const viaRecords = new SliceBatch(grouping);
    const effect = new EventEffect();
    events.forEach(([event, timestampMs], offset) => {
      const record = spendRecordOf(event, { partition: 1, offset, timestampMs });
      const added = direct.add(eventEffect(event, effect), 1, offset, timestampMs);
      expect(added).toBe(record !== null);
      expect(effect.spends).toBe(record !== null && record.spend !== null);
      if (record !== null) viaRecords.addRecord(record);
    });
    const summary = (batch: SliceBatch) =>
      [...batch.slices.values()].map((s) => ({
        advertiserId: s.advertiserId,
        maxTimestampMs: s.maxTimestampMs,
        buckets: s.buckets,
        events: s.events,
        bytes: s.bytes.subarray(0, s.length).toString("hex"),
      }));
    expect(summary(direct)).toEqual(summary(viaRecords));
  }

  it("adds exactly what spendRecordOf gives, over a generated stream of every kind of record", () => {
    const events: [ParsedEvent, number][] = [];
    const stream = generateStream({
      seed: 7,
      events: 5_000,
      advertisers: 40,
      shares: { operatorBudget: 0.02 },
    });
    for (const generated of stream) {
      const parsed = parseEvent(generated.value, { referenceTimeMs: generated.timestampMs });
      if (parsed.ok) events.push([parsed, generated.timestampMs]);
    }
    expect(events.length).toBeGreaterThan(4_000);
    expectSameAsSpendRecordOf(events);
  });

  it("adds exactly what spendRecordOf gives, for any combination of the fields it reads", () => {
    const field = <T>(values: readonly T[]) => fc.option(fc.constantFrom(...values), { nil: undefined });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            event_type: field(["ad_click", "budget_update", "ad_view", ""]),
            click_id: field(["c1", "c2", "", "ü-1", 42]),
            advertiser_id: field(["a", "b", 7, ""]),
            advertiser: field(["Acme", ""]),
            amount: field(["0.5", 2, 0, -1, "x", 5_000]),
            budget_value: field(["10", 0, -3, "1.1234567", null]),
            budget_source: field(["api", "budget_update", "click", null]),
            timestamp: field(["2026-11-25T11:59:00Z", "2026-11-25T12:10:00Z", "2026-11-01T00:00:00Z", "bad"]),
          }),
          { maxLength: 30 },
        ),
        (drafts) => {
          const events: [ParsedEvent, number][] = [];
          for (const draft of drafts) {
            const parsed = parseEvent(JSON.stringify(draft), { referenceTimeMs: T });
            if (parsed.ok) events.push([parsed, T]);
          }
          expectSameAsSpendRecordOf(events);
        },
      ),
      { numRuns: 300 },
    );
  });
});
