import { createHmac } from "node:crypto";
import { budgetPeriodOf } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAlertsQueries, periodsToEvaluate, signWebhook, verifyWebhookSignature } from "../src/index.js";

const RUNS = { numRuns: 500 };
const secret = fc.string({ minLength: 16, maxLength: 64 });

describe("webhook signature", () => {
  it("is sha256=<hex HMAC-SHA256 of timestamp.body>, as docs/alerts.md tells receivers", () => {
    const mac = createHmac("sha256", "s3cret").update('1765000000.{"a":1}').digest("hex");
    expect(signWebhook("s3cret", 1_765_000_000, '{"a":1}')).toBe(`sha256=${mac}`);
  });

  it("verifies with the secret, within the tolerance, and fails with another secret, body or time", () => {
    fc.assert(
      fc.property(secret, secret, fc.string(), fc.integer({ min: 1e9, max: 2e9 }), (key, other, body, t) => {
        const signature = signWebhook(key, t, body);
        const ok = { secret: key, body, signature, timestamp: String(t), nowS: t + 10 };
        expect(verifyWebhookSignature(ok)).toBe(true);
        if (other !== key) expect(verifyWebhookSignature({ ...ok, secret: other })).toBe(false);
        expect(verifyWebhookSignature({ ...ok, body: `${body} ` })).toBe(false);
        expect(verifyWebhookSignature({ ...ok, timestamp: String(t + 1) })).toBe(false);
        expect(verifyWebhookSignature({ ...ok, nowS: t + 301 })).toBe(false);
        expect(verifyWebhookSignature({ ...ok, signature: undefined })).toBe(false);
      }),
      RUNS,
    );
  });
});

describe("periodsToEvaluate", () => {
  it("is the period of now and the ones just before it, contiguous", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }),
        fc.constantFrom("hour", "day", "month" as const),
        fc.constantFrom("UTC", "America/New_York", "Asia/Kolkata"),
        fc.integer({ min: 0, max: 3 }),
        (now, period, zone, lookback) => {
          const windows = periodsToEvaluate(now, period, zone, lookback);
          expect(windows).toHaveLength(lookback + 1);
          expect(windows[0]).toEqual(budgetPeriodOf(now, period, zone));
          for (let i = 1; i < windows.length; i++) expect(windows[i]?.endMs).toBe(windows[i - 1]?.startMs);
        },
      ),
      RUNS,
    );
    expect(periodsToEvaluate(Date.now(), "lifetime", "UTC", 3)).toHaveLength(1);
  });
});

describe("alerts SQL", () => {
  it("loads every named statement with a valid header", () => {
    expect(checkAlertsQueries()).toHaveLength(7);
  });
});
