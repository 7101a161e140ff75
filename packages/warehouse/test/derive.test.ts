import { parseEvent } from "@adpipe/core";
import { describe, expect, it } from "vitest";
import {
  aggregateGold,
  clampRecordMs,
  deriveRecords,
  goldContribution,
  parseRecords,
  servingScope,
} from "../src/derive.js";
import { PartitionCache } from "../src/partitions.js";
import type { KafkaRecord } from "../src/records.js";

const T = Date.UTC(2026, 10, 25, 23, 30);
const click = (clickId: string, amount: string | number, extra = ""): string =>
  `{"event_type":"ad_click","click_id":"${clickId}","advertiser":"Acme","advertiser_id":"a1","amount":${amount},"timestamp":${T}${extra}}`;

function record(offset: number, json: string | null): KafkaRecord {
  return {
    topic: "t",
    partition: 0,
    offset: String(offset),
    timestampMs: T,
    key: null,
    value: json === null ? null : Buffer.from(json),
  };
}

describe("derive: records -> Silver kind, Gold contribution, budget", () => {
  it("a valid click adds gross, net and one valid click to its hour; a duplicate adds only duplicate_clicks", () => {
    const event = parseEvent(click("c1", "0.1"), { referenceTimeMs: T });
    if (!event.ok) throw new Error("expected an event");
    expect(goldContribution(event, false)).toMatchObject({
      advertiserId: "a1",
      advertiser: "Acme",
      windowStartMs: Date.UTC(2026, 10, 25, 23),
      grossMicros: 100_000,
      netMicros: 100_000,
      records: 1,
      validClicks: 1,
      invalidClicks: 0,
      duplicateClicks: 0,
    });
    expect(goldContribution(event, true)).toMatchObject({
      grossMicros: 0,
      netMicros: 0,
      records: 0,
      duplicateClicks: 1,
    });
  });

  it("an invalid click is gross but not net; a rejected record has no Silver row and no contribution", () => {
    const parsed = parseRecords([
      record(0, click("c2", -1)),
      record(1, click("c3", "2.5", ',"budget_value":10')),
      record(2, "{oops"),
      record(3, null),
    ]);
    const derived = deriveRecords(parsed, () => null);
    expect(derived.map((r) => r.silver)).toEqual(["clean", "clean", null, null]);
    expect(derived[0]!.contribution).toMatchObject({ validClicks: 0, invalidClicks: 1, netMicros: 0 });
    expect(derived[1]!.budget).toEqual({
      advertiserId: "a1",
      budgetMicros: 10_000_000,
      eventTimeMs: T,
      source: "click",
    });
    expect(derived[2]!.parse).toMatchObject({ ok: false, reason: "malformed_json" });
    expect(derived[3]!.parse).toMatchObject({ ok: false, reason: "payload_empty" });
    const gold = aggregateGold(derived);
    expect(gold).toHaveLength(1);
    expect(gold[0]).toMatchObject({ records: 2, validClicks: 1, invalidClicks: 1, netMicros: 2_500_000 });
    expect(servingScope(derived).get("a1")).toBe(Date.UTC(2026, 10, 25, 23));
  });

  it("duplicates (per firstOf) never move the budget and go to the duplicate table", () => {
    const parsed = parseRecords([
      record(0, click("c4", 1, ',"budget_value":5')),
      record(1, click("c4", 1, ',"budget_value":7')),
    ]);
    const derived = deriveRecords(parsed, (r) =>
      r.offset === 1n ? { topic: "t", partition: 0, generation: 0, offset: "0" } : null,
    );
    expect(derived.map((r) => r.silver)).toEqual(["clean", "duplicate"]);
    expect(derived[1]!.budget).toBeNull();
    expect(aggregateGold(derived)[0]).toMatchObject({
      validClicks: 1,
      duplicateClicks: 1,
      grossMicros: 1_000_000,
    });
  });

  it("clamps absurd record timestamps into the partitionable range and asks for each new day once", () => {
    expect(clampRecordMs(-5)).toBe(0);
    expect(clampRecordMs(Number.NaN)).toBe(0);
    expect(clampRecordMs(Number.MAX_SAFE_INTEGER)).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    const cache = new PartitionCache();
    expect(cache.missingDays([T, T + 1, T + 86_400_000])).toEqual([
      Math.floor(T / 86_400_000),
      Math.floor(T / 86_400_000) + 1,
    ]);
  });
});
