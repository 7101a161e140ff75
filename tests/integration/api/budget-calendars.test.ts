import { advertiserKey } from "@adpipe/serving-client";
import { describe, expect, it } from "vitest";
import { useBudgetApi } from "./budget-api.js";
import { call, READ_TOKEN, WRITE_TOKEN } from "./harness.js";

interface BudgetBody {
  event_id: string;
  period: string;
  old_budget_period: string | null;
  new_budget_period: string | null;
  old_time_zone: string | null;
  new_time_zone: string | null;
}

interface AuditItem {
  action: string;
  old_budget_period: string | null;
  new_budget_period: string | null;
  old_time_zone: string | null;
  new_time_zone: string | null;
  period: string | null;
}

/** Per-advertiser budget period and time zone through PUT /v1/advertisers/{id}/budget: published, audited, validated. */
describe("budget calendars through the API", () => {
  const { ctx, put, audit, published } = useBudgetApi<BudgetBody, AuditItem>("budget-calendars");

  it("publishes budget_period and time_zone, audits old and new, and omits them when not given", async () => {
    const set = await put("zoned", { amount: "50", budget_period: "hour", time_zone: "Asia/Kolkata" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      period: "hour",
      old_budget_period: null,
      new_budget_period: "hour",
      old_time_zone: null,
      new_time_zone: "Asia/Kolkata",
    });
    const first = await published(set.body.event_id);
    expect(first.event).toMatchObject({
      budget_period: "hour",
      time_zone: "Asia/Kolkata",
      budget_source: "api",
    });
    expect(first.parsed).toMatchObject({
      ok: true,
      isValid: true,
      budgetPeriod: "hour",
      timeZone: "Asia/Kolkata",
    });

    // The tracker applied it (its hash as apply_slice.lua writes it): the next change audits it as old.
    await ctx.bench.redis.hset(advertiserKey("zoned", ctx.bench.prefix), {
      can_serve: "1",
      period: "2026-12-06T05+05:30",
      net_micros: "0",
      gross_micros: "0",
      budget_micros: "50000000",
      clicks: "0",
      updated_at: String(Date.now()),
      budget_source: "api",
      budget_period: "hour",
      time_zone: "Asia/Kolkata",
    });
    const zoneOnly = await put("zoned", { amount: "50", time_zone: "america/new_york" });
    expect(zoneOnly.status).toBe(200);
    expect(zoneOnly.body).toMatchObject({
      period: "hour",
      old_budget_period: "hour",
      new_budget_period: null,
      old_time_zone: "Asia/Kolkata",
      new_time_zone: "America/New_York",
    });
    const second = await published(zoneOnly.body.event_id);
    expect(second.event).not.toHaveProperty("budget_period");
    expect(second.event.time_zone).toBe("america/new_york");

    const amountOnly = await put("zoned", { amount: "60" });
    expect(amountOnly.status).toBe(200);
    expect(amountOnly.body).toMatchObject({ new_budget_period: null, new_time_zone: null });
    const plain = await published(amountOnly.body.event_id);
    expect(plain.event).not.toHaveProperty("budget_period");
    expect(plain.event).not.toHaveProperty("time_zone");

    // The serving state shows the hash's calendar.
    const serving = await call<{ budget_period: string | null; time_zone: string | null }>(
      ctx.bench.baseUrl,
      "GET",
      "/v1/advertisers/zoned/serving",
      { token: READ_TOKEN },
    );
    expect(serving.body).toMatchObject({ budget_period: "hour", time_zone: "Asia/Kolkata" });
    const paused = await call(ctx.bench.baseUrl, "POST", "/v1/advertisers/zoned/pause", {
      token: WRITE_TOKEN,
    });
    expect(paused.status).toBe(200);
    expect(
      (await audit("zoned")).map((i) => [
        i.action,
        i.old_budget_period,
        i.new_budget_period,
        i.old_time_zone,
        i.new_time_zone,
      ]),
    ).toEqual([
      ["pause", "hour", null, "Asia/Kolkata", null],
      ["set_budget", "hour", null, "Asia/Kolkata", null],
      ["set_budget", "hour", null, "Asia/Kolkata", "America/New_York"],
      ["set_budget", null, "hour", null, "Asia/Kolkata"],
    ]);
  });

  it("refuses a bad period or zone with a 400 that names the field, producing nothing", async () => {
    const cases: [unknown, string][] = [
      [{ amount: "5", budget_period: "week" }, "budget_period"],
      [{ amount: "5", budget_period: null }, "budget_period"],
      [{ amount: "5", time_zone: "Mars/Olympus" }, "time_zone"],
      [{ amount: "5", time_zone: "" }, "time_zone"],
      [{ amount: "5", time_zone: 330 }, "time_zone"],
      [{ amount: "5", time_zone: "x".repeat(65) }, "time_zone"],
      [{ amount: "5", budget_period: "month", period: "day" }, "period"],
    ];
    for (const [body, field] of cases) {
      const res = await put("bad-calendar", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      expect(
        res.body.error.details?.some((d) => d.path.includes(field)),
        JSON.stringify(res.body),
      ).toBe(true);
    }
    expect(await audit("bad-calendar")).toEqual([]);
    expect(ctx.reader.records.some((r) => r.key === "bad-calendar")).toBe(false);
  });
});
