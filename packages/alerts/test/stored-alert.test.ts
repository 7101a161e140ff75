import { ALERT_KINDS, alertEventSchema } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertEventFields, type StoredAlert } from "../src/stored-alert.js";

// Whole milliseconds in 2000-2100: what timestamptz gives back through pg.
const instant = fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }).map((ms) => new Date(ms));

const storedAlert: fc.Arbitrary<StoredAlert> = fc.record({
  event_id: fc.uuid(),
  kind: fc.constantFrom(...ALERT_KINDS),
  advertiser_id: fc.string({ minLength: 1, maxLength: 20 }),
  advertiser: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  period_id: fc.string({ minLength: 1, maxLength: 20 }),
  period_start: instant,
  period_end: instant,
  threshold_pct: fc.integer({ min: 0, max: 1000 }),
  period_net_micros: fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }).map(String),
  budget_micros: fc.bigInt({ min: 0n, max: 10n ** 18n }).map(String),
  fired_at: instant,
});

describe("alertEventFields", () => {
  it("gives a valid alert event (with schema_version) that keeps every stored value", () => {
    fc.assert(
      fc.property(storedAlert, (row) => {
        const event = alertEventSchema.parse({ schema_version: 1, ...alertEventFields(row) });
        expect(event.budget_period).toBe(row.period_id);
        expect(new Date(event.fired_at).getTime()).toBe(row.fired_at.getTime());
        expect(new Date(event.period_start).getTime()).toBe(row.period_start.getTime());
        expect(event.period_net_micros).toBe(row.period_net_micros);
        expect(event.kind).toBe(row.kind);
      }),
    );
  });
});
