import { formatMicros } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  apiTargetFromEnv,
  describeApiError,
  exitCodeForStatus,
  formatBudgetChange,
  formatBudgetShow,
  parseAmount,
} from "../../src/commands/budget.js";

describe("adpipe budget", () => {
  test("accepts every exact amount >= 0 and refuses negatives and sub-micro amounts", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000_000 }), (micros) => {
        expect(parseAmount(formatMicros(micros))).toBe(formatMicros(micros));
        if (micros > 0) expect(() => parseAmount(`-${formatMicros(micros)}`)).toThrow(/negative/);
        expect(() => parseAmount(`${formatMicros(micros)}1`)).toThrow(/at most 6 decimals/);
      }),
    );
    expect(() => parseAmount("ten")).toThrow(/decimal amount/);
  });

  test("reads the API's address and token, refusing what would fail later", () => {
    expect(
      apiTargetFromEnv({ ADPIPE_API_URL: "http://h:8080/", ADPIPE_API_TOKEN: "t" }, { needToken: true }),
    ).toEqual({
      baseUrl: "http://h:8080",
      token: "t",
    });
    expect(apiTargetFromEnv({}, { apiUrl: "https://api.example", needToken: false })).toEqual({
      baseUrl: "https://api.example",
      token: null,
    });
    const failure = (env: NodeJS.ProcessEnv, needToken = true) => {
      try {
        apiTargetFromEnv(env, { needToken });
      } catch (error) {
        return [(error as { exitCode: number }).exitCode, (error as Error).message];
      }
      return null;
    };
    expect(failure({ ADPIPE_API_TOKEN: "t" })).toEqual([
      2,
      expect.stringMatching(/ADPIPE_API_URL is not set/),
    ]);
    expect(failure({ ADPIPE_API_URL: "h:8080x", ADPIPE_API_TOKEN: "t" })?.[1]).toMatch(/http/);
    expect(failure({ ADPIPE_API_URL: "http://u:secret@h", ADPIPE_API_TOKEN: "t" })?.[1]).toMatch(
      /credentials/,
    );
    expect(failure({ ADPIPE_API_URL: "http://h" })).toEqual([2, expect.stringMatching(/ADPIPE_API_TOKEN/)]);
    expect(failure({ ADPIPE_API_URL: "http://h" }, false)).toBeNull();
  });

  test("turns API errors into one line and an exit code", () => {
    expect(
      describeApiError(400, {
        error: { message: "invalid body", details: [{ path: ["mode"], message: "Invalid option" }] },
      }),
    ).toBe("invalid body (mode: Invalid option)");
    expect(describeApiError(502, null)).toBe("HTTP 502");
    expect([400, 401, 404, 413, 429, 500, 503].map(exitCodeForStatus)).toEqual([2, 2, 2, 2, 69, 1, 69]);
  });

  test("shows pacing and serve fraction for a paced advertiser only", () => {
    const serving = {
      advertiser_id: "p",
      known: true,
      can_serve: true,
      reason: null,
      period: "2026-11-25",
      net_micros: 1,
      gross_micros: 1,
      budget_micros: 10,
      budget_source: "api",
      mode: "observe" as const,
      over_cap_micros: 0,
      clicks: 1,
      updated_at: "2026-11-25T12:00:00.000Z",
    };
    expect(formatBudgetShow(serving, [])[1]).toBe("  budget 0.000010 (source api), mode observe");
    expect(formatBudgetShow({ ...serving, pacing: "even", serve_fraction: 0.5 }, [])[1]).toBe(
      "  budget 0.000010 (source api), mode observe, pacing even (serve fraction 0.5)",
    );
  });

  test("says whether the mode changed", () => {
    const change = {
      advertiser_id: "a",
      event_id: "budget-1",
      old_budget_micros: 1_000_000,
      old_budget_source: "click",
      new_budget_micros: 2_000_000,
      old_mode: "observe" as const,
      new_mode: null,
      amount: "2.000000",
      period: "day",
      audit_id: "3",
    };
    expect(formatBudgetChange(change)).toEqual([
      "a: budget 2.000000 per day (was 1.000000, source click)",
      "  mode unchanged (observe in the tracker)",
      "  pacing unchanged (unknown in the tracker)",
      "  published budget-1, audit 3; the budget-tracker applies it with its next batch",
    ]);
    expect(formatBudgetChange({ ...change, new_mode: "hard_cap" })[1]).toBe("  mode hard_cap (was observe)");
    expect(formatBudgetChange({ ...change, old_pacing: "asap", new_pacing: "even" })[2]).toBe(
      "  pacing even (was asap)",
    );
  });
});
