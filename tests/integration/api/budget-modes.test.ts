import { advertiserKey } from "@adpipe/serving-client";
import { describe, expect, it } from "vitest";
import { useBudgetApi } from "./budget-api.js";
import { call, READ_TOKEN, WRITE_TOKEN } from "./harness.js";

interface BudgetBody {
  event_id: string;
  old_budget_micros: number | null;
  new_budget_micros: number;
  old_mode: string | null;
  new_mode: string | null;
  audit_id: string;
}

interface AuditItem {
  id: string;
  action: string;
  new_budget_micros: number | null;
  old_mode: string | null;
  new_mode: string | null;
  event_id: string | null;
}

/** Budget modes through PUT /v1/advertisers/{id}/budget (issue 17): published, audited, validated, shown. */
describe("budget modes through the API", () => {
  const { ctx, put, audit, published } = useBudgetApi<BudgetBody, AuditItem>("budget-modes");

  it("publishes budget_mode with each mode, audits old and new mode, and omits it when no mode is given", async () => {
    const capped = await put("moded", { amount: "100", mode: "hard_cap" });
    expect(capped.status).toBe(200);
    expect(capped.body).toMatchObject({
      new_budget_micros: 100_000_000,
      old_mode: null,
      new_mode: "hard_cap",
    });
    const first = await published(capped.body.event_id);
    expect(first.event).toMatchObject({
      event_type: "budget_update",
      advertiser_id: "moded",
      budget_value: 100,
      budget_source: "api",
      budget_mode: "hard_cap",
    });
    // The pipelines read it as a valid explicit budget that sets the mode.
    expect(first.parsed).toMatchObject({
      ok: true,
      isValid: true,
      budgetMicros: 100_000_000,
      budgetSource: "api",
      budgetMode: "hard_cap",
    });

    // The tracker applied it (its hash as apply_slice.lua writes it): the next change audits hard_cap as old.
    await ctx.bench.redis.hset(advertiserKey("moded", ctx.bench.prefix), {
      can_serve: "1",
      reason: "",
      period: "2026-11-25",
      net_micros: "0",
      gross_micros: "0",
      budget_micros: "100000000",
      clicks: "0",
      updated_at: String(Date.now()),
      budget_source: "api",
      mode: "hard_cap",
    });
    const observed = await put("moded", { amount: "100", mode: "observe" });
    expect(observed.status).toBe(200);
    expect(observed.body).toMatchObject({ old_mode: "hard_cap", new_mode: "observe" });
    expect((await published(observed.body.event_id)).event.budget_mode).toBe("observe");

    // No mode: the event carries none (the mode in force stays), the audit says none was set.
    const amountOnly = await put("moded", { amount: "120" });
    expect(amountOnly.status).toBe(200);
    expect(amountOnly.body).toMatchObject({ old_mode: "hard_cap", new_mode: null });
    const plain = await published(amountOnly.body.event_id);
    expect(plain.event).not.toHaveProperty("budget_mode");
    expect(plain.parsed).toMatchObject({ ok: true, isValid: true, budgetMicros: 120_000_000 });
    expect(plain.parsed.ok && plain.parsed.budgetMode).toBeUndefined();

    // The trail, newest first; a pause records the mode in force and sets none.
    const paused = await call(ctx.bench.baseUrl, "POST", "/v1/advertisers/moded/pause", {
      token: WRITE_TOKEN,
    });
    expect(paused.status).toBe(200);
    expect(
      (await audit("moded")).map((item) => [
        item.action,
        item.new_budget_micros,
        item.old_mode,
        item.new_mode,
      ]),
    ).toEqual([
      ["pause", 100_000_000, "hard_cap", null],
      ["set_budget", 120_000_000, "hard_cap", null],
      ["set_budget", 100_000_000, "hard_cap", "observe"],
      ["set_budget", 100_000_000, null, "hard_cap"],
    ]);
  });

  it("refuses a bad mode, or a mode without an amount, with a 400 that names the field, producing nothing", async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ amount: "5", mode: "soft_cap" }, "mode", /observe.*hard_cap/],
      [{ amount: "5", mode: "HARD_CAP" }, "mode", /observe.*hard_cap/],
      [{ amount: "5", mode: "" }, "mode", /observe.*hard_cap/],
      [{ amount: "5", mode: null }, "mode", /observe.*hard_cap/],
      [{ amount: "5", mode: 1 }, "mode", /observe.*hard_cap/],
      [{ amount: "5", mode: ["hard_cap"] }, "mode", /observe.*hard_cap/],
      [{ mode: "hard_cap" }, "amount", /amount is required.*budget in force with the new mode/],
      [{ amount: "5", budget_mode: "hard_cap" }, "", /./],
    ];
    for (const [body, field, message] of cases) {
      const res = await put("bad-mode", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      if (field !== "") {
        const detail = res.body.error.details?.find((d) => d.path.includes(field));
        expect(detail?.message, JSON.stringify(body)).toMatch(message);
      }
    }
    expect(await audit("bad-mode")).toEqual([]);
    expect(ctx.reader.records.some((r) => r.key === "bad-mode")).toBe(false);
  });

  it("needs a write token to set a mode", async () => {
    expect((await put("auth-mode", { amount: "5", mode: "hard_cap" }, null)).status).toBe(401);
    expect((await put("auth-mode", { amount: "5", mode: "hard_cap" }, READ_TOKEN)).status).toBe(401);
    expect(await audit("auth-mode")).toEqual([]);
  });

  it("describes mode in the OpenAPI document", async () => {
    const doc = await call<{
      components?: unknown;
      paths: Record<string, { put?: { requestBody?: { content: Record<string, { schema: unknown }> } } }>;
    }>(ctx.bench.baseUrl, "GET", "/openapi.json");
    const schema = JSON.stringify(
      doc.body.paths["/v1/advertisers/{id}/budget"]?.put?.requestBody?.content["application/json"]?.schema,
    );
    expect(schema).toContain('"mode"');
    expect(schema).toContain('"hard_cap"');
  });
});
