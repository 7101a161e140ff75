import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { budgetChangeResponseSchema, servingStateSchema } from "@adpipe/api-contract";
import { formatMicros } from "@adpipe/core";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import {
  apiTargetFromEnv,
  callApi,
  describeApiError,
  exitCodeForStatus,
  formatBudgetChange,
  formatBudgetShow,
  parseAmount,
} from "../../src/commands/budget.js";

/** What GET /v1/advertisers/p/serving answers for a known advertiser in observe, asap. */
const servingAnswer = {
  advertiser_id: "p",
  known: true,
  can_serve: true,
  reason: null,
  period: "2026-11-25",
  net_micros: 1,
  gross_micros: 1,
  budget_micros: 10,
  budget_source: "api",
  mode: "observe",
  over_cap_micros: 0,
  forecast_exhausted_at: null,
  forecast_period_spend_micros: null,
  budget_period: "day",
  time_zone: "UTC",
  pacing: "asap",
  serve_fraction: 1,
  traffic_shape: null,
  clicks: 1,
  updated_at: "2026-11-25T12:00:00.000Z",
};

let server: Server | null = null;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** A local HTTP server that answers every request with `body` (JSON) and `status`. */
async function answering(status: number, body: unknown): Promise<string> {
  server = createServer((_request, response) => {
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

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
        error: {
          code: "bad_request",
          message: "invalid body",
          request_id: "r1",
          details: [{ path: ["mode"], message: "Invalid option" }],
        },
      }),
    ).toBe("invalid body (mode: Invalid option)");
    expect(describeApiError(502, null)).toBe("HTTP 502");
    // Not the API's error shape (a proxy's page, another service): the status alone.
    expect(describeApiError(503, { error: "busy" })).toBe("HTTP 503");
    expect([400, 401, 404, 413, 429, 500, 503].map(exitCodeForStatus)).toEqual([2, 2, 2, 2, 69, 1, 69]);
  });

  test("holds the API's answers to its contract", async () => {
    const target = (baseUrl: string) => ({ baseUrl, token: null });
    const ok = await answering(200, servingAnswer);
    await expect(
      callApi(target(ok), "GET", "/v1/advertisers/p/serving", servingStateSchema),
    ).resolves.toEqual(servingAnswer);
    await new Promise((resolve) => server?.close(resolve));
    // A field of the wrong type (an older or newer API, or another service): refused, naming the field.
    const wrong = await answering(200, { ...servingAnswer, net_micros: "1" });
    await expect(
      callApi(target(wrong), "GET", "/v1/advertisers/p/serving", servingStateSchema),
    ).rejects.toThrow(/does not match the API contract \(net_micros: /);
    await new Promise((resolve) => server?.close(resolve));
    const failing = await answering(400, {
      error: { code: "bad_request", message: "invalid body", request_id: "r", details: [] },
    });
    await expect(
      callApi(target(failing), "PUT", "/v1/advertisers/p/budget", budgetChangeResponseSchema, {}),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/invalid body/) });
  });

  test("shows pacing and serve fraction for a paced advertiser only", () => {
    const serving = servingStateSchema.parse(servingAnswer);
    expect(formatBudgetShow(serving, [])[1]).toBe("  budget 0.000010 (source api), mode observe");
    expect(formatBudgetShow({ ...serving, pacing: "even", serve_fraction: 0.5 }, [])[1]).toBe(
      "  budget 0.000010 (source api), mode observe, pacing even (serve fraction 0.5)",
    );
  });

  test("says whether the mode changed", () => {
    const change = budgetChangeResponseSchema.parse({
      advertiser_id: "a",
      event_id: "budget-1",
      old_budget_micros: 1_000_000,
      old_budget_source: "click",
      new_budget_micros: 2_000_000,
      old_mode: "observe",
      new_mode: null,
      old_budget_period: null,
      new_budget_period: null,
      old_time_zone: null,
      new_time_zone: null,
      old_pacing: null,
      new_pacing: null,
      budget_source: "api",
      amount: "2.000000",
      period: "day",
      audit_id: "3",
    });
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
