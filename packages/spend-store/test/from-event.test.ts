import { parseEvent } from "@adpipe/core";
import { describe, expect, it } from "vitest";
import { spendRecordOf } from "../src/from-event.js";

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
        grossMicros: 100_000,
        netMicros: 100_000,
        clicks: 1,
      },
      budget: { budgetMicros: 2_000_000, eventTimeMs: Date.parse(eventTime) },
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
    expect(r).toMatchObject({ spend: null, budget: { budgetMicros: 12_500_000 } });
  });

  it("ignores events that change nothing (no event time, unknown type)", () => {
    expect(record({ event_type: "ad_click", click_id: "c3", advertiser_id: "7", amount: 1 })).toBeNull();
    expect(
      record({ event_type: "ad_view", advertiser_id: "7", amount: 1, timestamp: "2026-11-25T11:00:00Z" }),
    ).toBeNull();
  });
});
