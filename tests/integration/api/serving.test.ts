import { advertiserKey } from "@adpipe/serving-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiBench, call, OTHER_WRITE_TOKEN, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";

interface ServingBody {
  advertiser_id: string;
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  period: string | null;
  net_micros: number | null;
  gross_micros: number | null;
  budget_micros: number | null;
  budget_source: string | null;
  mode: string | null;
  over_cap_micros: number | null;
  forecast_exhausted_at: string | null;
  forecast_period_spend_micros: number | null;
  clicks: number | null;
  updated_at: string | null;
}

/** Writes an advertiser hash the way the budget-tracker does (the Redis contract is the public interface). */
async function seedState(
  bench: ApiBench,
  id: string,
  fields: {
    canServe: boolean;
    reason?: string;
    net: number;
    gross: number;
    budget?: number;
    source?: string;
    mode?: string;
    overCap?: number;
    forecast?: { exhaustedAt: string; spend: string };
    clicks: number;
  },
): Promise<void> {
  await bench.redis.hset(advertiserKey(id, bench.prefix), {
    can_serve: fields.canServe ? "1" : "0",
    reason: fields.reason ?? "",
    period: "2026-11-25",
    net_micros: String(fields.net),
    gross_micros: String(fields.gross),
    ...(fields.budget === undefined ? {} : { budget_micros: String(fields.budget) }),
    ...(fields.source === undefined ? {} : { budget_source: fields.source }),
    ...(fields.mode === undefined ? {} : { mode: fields.mode }),
    ...(fields.overCap === undefined ? {} : { over_cap_micros: String(fields.overCap) }),
    ...(fields.forecast === undefined
      ? {}
      : {
          forecast_exhausted_at: fields.forecast.exhaustedAt,
          forecast_period_spend_micros: fields.forecast.spend,
        }),
    clicks: String(fields.clicks),
    updated_at: String(Date.UTC(2026, 10, 25, 12, 0, 0)),
  });
}

describe("serving lookups (Redis)", () => {
  let bench: ApiBench;

  beforeAll(async () => {
    bench = await startApiBench("serving");
    await seedState(bench, "adv-on", {
      canServe: true,
      net: 1_500_000,
      gross: 2_000_000,
      budget: 10_000_000,
      source: "api",
      forecast: { exhaustedAt: "2026-11-25T20:00:00.000Z", spend: "12000000" },
      clicks: 3,
    });
    await seedState(bench, "adv-off", {
      canServe: false,
      reason: "budget_exhausted",
      net: 10_000_000,
      gross: 11_000_000,
      budget: 10_000_000,
      clicks: 40,
    });
    await seedState(bench, "adv-capped", {
      canServe: false,
      reason: "budget_exhausted",
      net: 10_000_000,
      gross: 12_500_000,
      budget: 10_000_000,
      source: "api",
      mode: "hard_cap",
      overCap: 2_500_000,
      clicks: 41,
    });
    await seedState(bench, "adv nobudget", {
      canServe: false,
      reason: "no_budget",
      net: 0,
      gross: 0,
      clicks: 0,
    });
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("answers a serving advertiser with its state in micros", async () => {
    const res = await call<ServingBody>(bench.baseUrl, "GET", "/v1/advertisers/adv-on/serving", {
      token: READ_TOKEN,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      advertiser_id: "adv-on",
      known: true,
      can_serve: true,
      reason: null,
      period: "2026-11-25",
      net_micros: 1_500_000,
      gross_micros: 2_000_000,
      budget_micros: 10_000_000,
      budget_source: "api",
      // No mode in the hash: no explicit budget ever set one, so observe, and nothing over a cap.
      mode: "observe",
      over_cap_micros: 0,
      forecast_exhausted_at: "2026-11-25T20:00:00.000Z",
      forecast_period_spend_micros: 12_000_000,
      // No calendar in the hash (written before calendars): unknown here, the service-wide one applies.
      budget_period: null,
      time_zone: null,
      // No pacing in the hash: asap, served in full.
      pacing: "asap",
      serve_fraction: 1,
      traffic_shape: null,
      clicks: 3,
      updated_at: "2026-11-25T12:00:00.000Z",
    });
  });

  it("serves a shaped advertiser's traffic shape (the dashboard's target curve), null for other pacings", async () => {
    const shape = Array.from({ length: 24 }, (_, h) => (h < 6 ? 1_500 : h === 6 ? 1_000 : 0));
    await seedState(bench, "adv-shaped", { canServe: true, net: 1, gross: 1, budget: 10_000_000, clicks: 1 });
    const key = advertiserKey("adv-shaped", bench.prefix);
    await bench.redis.hset(key, { pacing: "shaped", serve_fraction: "1", _shape: shape.join(",") });
    const lookup = () =>
      call<ServingBody & { traffic_shape: number[] | null }>(
        bench.baseUrl,
        "GET",
        "/v1/advertisers/adv-shaped/serving",
        { token: READ_TOKEN },
      );
    const res = await lookup();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ pacing: "shaped", serve_fraction: 1, traffic_shape: shape });
    // Not shaped any more (or no shape learnt): null.
    await bench.redis.hset(key, "pacing", "even");
    expect((await lookup()).body.traffic_shape).toBeNull();
    await bench.redis.del(key);
  });

  it("shows a hard_cap advertiser's mode and its spend beyond the cap, single and batched", async () => {
    const res = await call<ServingBody>(bench.baseUrl, "GET", "/v1/advertisers/adv-capped/serving", {
      token: READ_TOKEN,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      can_serve: false,
      reason: "budget_exhausted",
      net_micros: 10_000_000,
      budget_micros: 10_000_000,
      mode: "hard_cap",
      over_cap_micros: 2_500_000,
    });
    const batch = await call<{ results: ServingBody[] }>(bench.baseUrl, "POST", "/v1/serving:batch", {
      body: { ids: ["adv-capped", "adv-on", "never-seen"] },
      token: READ_TOKEN,
    });
    expect(batch.body.results.map((r) => [r.advertiser_id, r.mode, r.over_cap_micros])).toEqual([
      ["adv-capped", "hard_cap", 2_500_000],
      ["adv-on", "observe", 0],
      ["never-seen", null, null],
    ]);
    // Forecasts in the batch too; a hash not refreshed yet (or with no forecast within the period) has none.
    expect(
      batch.body.results.map((r) => [
        r.advertiser_id,
        r.forecast_exhausted_at,
        r.forecast_period_spend_micros,
      ]),
    ).toEqual([
      ["adv-capped", null, null],
      ["adv-on", "2026-11-25T20:00:00.000Z", 12_000_000],
      ["never-seen", null, null],
    ]);
  });

  it("answers a stopped advertiser with its reason, and ids with spaces (URL-encoded)", async () => {
    const off = await call<ServingBody>(bench.baseUrl, "GET", "/v1/advertisers/adv-off/serving", {
      token: READ_TOKEN,
    });
    expect(off.body).toMatchObject({
      can_serve: false,
      reason: "budget_exhausted",
      budget_micros: 10_000_000,
    });
    const spaced = await call<ServingBody>(bench.baseUrl, "GET", "/v1/advertisers/adv%20nobudget/serving", {
      token: READ_TOKEN,
    });
    expect(spaced.status).toBe(200);
    expect(spaced.body).toMatchObject({
      advertiser_id: "adv nobudget",
      can_serve: false,
      reason: "no_budget",
      budget_micros: null,
      budget_source: null,
    });
  });

  it("answers an unknown advertiser with the documented default (SERVE_WHEN_UNKNOWN=false)", async () => {
    const res = await call<ServingBody>(bench.baseUrl, "GET", "/v1/advertisers/never-seen/serving", {
      token: READ_TOKEN,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      advertiser_id: "never-seen",
      known: false,
      can_serve: false,
      reason: "unknown_advertiser",
      period: null,
      net_micros: null,
      gross_micros: null,
      budget_micros: null,
      budget_source: null,
      mode: null,
      over_cap_micros: null,
      forecast_exhausted_at: null,
      forecast_period_spend_micros: null,
      budget_period: null,
      time_zone: null,
      pacing: null,
      serve_fraction: null,
      traffic_shape: null,
      clicks: null,
      updated_at: null,
    });
  });

  it("serves unknown advertisers when SERVE_WHEN_UNKNOWN=true", async () => {
    const open = await startApiBench("serving-open", {
      env: { SERVE_WHEN_UNKNOWN: "true" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      const res = await call<ServingBody>(open.baseUrl, "GET", "/v1/advertisers/never-seen/serving", {
        token: READ_TOKEN,
      });
      expect(res.body).toMatchObject({ known: false, can_serve: true, reason: null });
      const known = await call<ServingBody>(open.baseUrl, "GET", "/v1/advertisers/adv-off/serving", {
        token: READ_TOKEN,
      });
      expect(known.body).toMatchObject({ known: true, can_serve: false });
    } finally {
      await open.close();
    }
  });

  it("looks up many advertisers in one request (POST :batch and GET ?ids=), in the order asked", async () => {
    const ids = ["adv-off", "never-seen", "adv-on"];
    const post = await call<{ results: ServingBody[] }>(bench.baseUrl, "POST", "/v1/serving:batch", {
      token: READ_TOKEN,
      body: { ids },
    });
    expect(post.status).toBe(200);
    expect(post.body.results.map((r) => [r.advertiser_id, r.known, r.can_serve])).toEqual([
      ["adv-off", true, false],
      ["never-seen", false, false],
      ["adv-on", true, true],
    ]);
    const get = await call<{ results: ServingBody[] }>(
      bench.baseUrl,
      "GET",
      `/v1/serving?ids=${ids.join(",")}`,
      { token: READ_TOKEN },
    );
    expect(get.status).toBe(200);
    expect(get.body).toEqual(post.body);
  });

  it("answers the bulk form with one Redis round trip for a thousand ids", async () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => (i === 500 ? "adv-on" : `bulk-${i}`));
    const before = Number((await bench.redis.info("stats")).match(/total_commands_processed:(\d+)/)?.[1]);
    const res = await call<{ results: ServingBody[] }>(bench.baseUrl, "POST", "/v1/serving:batch", {
      token: READ_TOKEN,
      body: { ids },
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1_000);
    expect(res.body.results[500]).toMatchObject({ advertiser_id: "adv-on", can_serve: true });
    // A pipeline is one round trip with one HMGET per id (plus the INFO calls of this test).
    const after = Number((await bench.redis.info("stats")).match(/total_commands_processed:(\d+)/)?.[1]);
    expect(after - before).toBeGreaterThanOrEqual(1_000);
  });

  it("rejects bad ids and oversized batches with a clear 400", async () => {
    // Braces are valid ids (the event contract accepts them, issue 14); control characters are not.
    const control = await call(bench.baseUrl, "GET", "/v1/advertisers/a%00b/serving", { token: READ_TOKEN });
    expect(control.status).toBe(400);
    expect(control.body).toMatchObject({ error: { code: "bad_request" } });
    const long = await call(bench.baseUrl, "GET", `/v1/advertisers/${"a".repeat(129)}/serving`, {
      token: READ_TOKEN,
    });
    expect(long.status).toBe(400);
    const wrongType = await call(bench.baseUrl, "POST", "/v1/serving:batch", {
      token: READ_TOKEN,
      body: { ids: [1, 2] },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ error: { code: "bad_request" } });
    expect(wrongType.body).toMatchObject({
      error: {
        details: expect.arrayContaining([expect.objectContaining({ in: "body", path: ["ids", "0"] })]),
      },
    });
    const empty = await call(bench.baseUrl, "POST", "/v1/serving:batch", {
      token: READ_TOKEN,
      body: { ids: [] },
    });
    expect(empty.status).toBe(400);
    const tooMany = await call(bench.baseUrl, "POST", "/v1/serving:batch", {
      token: READ_TOKEN,
      body: { ids: Array.from({ length: 1_001 }, (_, i) => `x${i}`) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ error: { message: "at most 1000 ids per request" } });
    const badQuery = await call(bench.baseUrl, "GET", "/v1/serving?ids=a,,b", { token: READ_TOKEN });
    expect(badQuery.status).toBe(400);
    expect(badQuery.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it("needs a read token for reads when API_READ_TOKENS is set; write tokens read too", async () => {
    const guarded = await startApiBench("serving-guarded", {
      env: { API_READ_TOKENS: READ_TOKEN },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      const path = "/v1/advertisers/adv-on/serving";
      const anonymous = await call(guarded.baseUrl, "GET", path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ error: { code: "unauthorized" } });
      expect((await call(guarded.baseUrl, "GET", path, { token: "wrong" })).status).toBe(401);
      expect((await call(guarded.baseUrl, "GET", path, { token: READ_TOKEN })).status).toBe(200);
      expect((await call(guarded.baseUrl, "GET", path, { token: WRITE_TOKEN })).status).toBe(200);
      expect((await call(guarded.baseUrl, "GET", path, { token: OTHER_WRITE_TOKEN })).status).toBe(200);
      // Probes stay open for the orchestrator.
      expect((await call(guarded.baseUrl, "GET", "/healthz")).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
