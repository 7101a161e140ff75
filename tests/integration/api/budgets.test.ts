import { setTimeout as sleep } from "node:timers/promises";
import { parseEvent } from "@adpipe/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiBench,
  call,
  createTrackerState,
  OTHER_WRITE_TOKEN,
  READ_TOKEN,
  startApiBench,
  WRITE_TOKEN,
} from "./harness.js";
import { TopicReader } from "./topic-reader.js";

interface BudgetBody {
  advertiser_id: string;
  event_id: string;
  old_budget_micros: number | null;
  old_budget_source: string | null;
  new_budget_micros: number;
  budget_source: string;
  amount: string;
  period: string;
  audit_id: string;
}

interface AuditBody {
  items: {
    id: string;
    action: string;
    old_budget_micros: number | null;
    new_budget_micros: number | null;
    actor: string;
    source: string;
    event_id: string | null;
    note: string | null;
    created_at: string;
  }[];
  next_before_id: string | null;
}

describe("budgets, pauses and their audit trail", () => {
  let bench: ApiBench;
  let reader: TopicReader;

  beforeAll(async () => {
    bench = await startApiBench("budgets");
    reader = await TopicReader.start(bench.topic.kafka, bench.topic.topic);
    // The budget-tracker's state for this topic and prefix, as the tracker creates it on first start.
    await createTrackerState(bench);
  });
  afterAll(async () => {
    await reader?.stop();
    await bench?.close();
  });

  it("refuses writes without a valid bearer token", async () => {
    const path = "/v1/advertisers/acme/budget";
    const anonymous = await call(bench.baseUrl, "PUT", path, { body: { amount: "10" } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: "unauthorized", request_id: expect.any(String) } });
    const wrong = await call(bench.baseUrl, "PUT", path, {
      body: { amount: "10" },
      token: `${WRITE_TOKEN}x`,
    });
    expect(wrong.status).toBe(401);
    const basic = await call(bench.baseUrl, "PUT", path, {
      body: { amount: "10" },
      headers: { authorization: `Basic ${Buffer.from(`x:${WRITE_TOKEN}`).toString("base64")}` },
    });
    expect(basic.status).toBe(401);
    expect((await call(bench.baseUrl, "POST", "/v1/advertisers/acme/pause", { body: {} })).status).toBe(401);
    const audit = await call<AuditBody>(bench.baseUrl, "GET", "/v1/advertisers/acme/budget/audit", {
      token: READ_TOKEN,
    });
    expect(audit.body.items).toEqual([]);
  });

  it("publishes a budget_update event keyed by advertiser_id and audits who changed what", async () => {
    const before = Date.now();
    const res = await call<BudgetBody>(bench.baseUrl, "PUT", "/v1/advertisers/acme/budget", {
      body: { amount: "250.50", advertiser: "Acme Corp", source: "web-app" },
      token: WRITE_TOKEN,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      advertiser_id: "acme",
      old_budget_micros: null,
      old_budget_source: null,
      new_budget_micros: 250_500_000,
      budget_source: "api",
      amount: "250.500000",
      period: "day",
    });
    const record = await reader.waitFor((r) => r.value.includes(res.body.event_id));
    expect(record.key).toBe("acme");
    expect(record.timestampMs).toBeGreaterThanOrEqual(before);
    const event = JSON.parse(record.value) as Record<string, unknown>;
    expect(event).toMatchObject({
      event_type: "budget_update",
      click_id: res.body.event_id,
      advertiser: "Acme Corp",
      advertiser_id: "acme",
      budget_value: 250.5,
      // Marked as the API's: an explicit budget, which budget_value on later clicks does not override.
      budget_source: "api",
    });
    const parsed = parseEvent(record.value, { referenceTimeMs: record.timestampMs });
    expect(parsed).toMatchObject({
      ok: true,
      isValid: true,
      eventType: "budget_update",
      budgetMicros: 250_500_000,
      budgetSource: "api",
    });

    const audit = await call<AuditBody>(bench.baseUrl, "GET", "/v1/advertisers/acme/budget/audit", {
      token: READ_TOKEN,
    });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      id: res.body.audit_id,
      action: "set_budget",
      old_budget_micros: null,
      new_budget_micros: 250_500_000,
      actor: "alice",
      source: "web-app",
      event_id: res.body.event_id,
    });
  });

  it("records the tracker's current budget as the old value and names unnamed tokens by fingerprint", async () => {
    // The tracker's state after it applied the first update (every public field of the contract).
    await bench.redis.hset(`${bench.prefix}adv:{acme}`, {
      can_serve: "1",
      reason: "",
      period: "2026-11-25",
      net_micros: "0",
      gross_micros: "0",
      budget_micros: "250500000",
      clicks: "0",
      updated_at: String(Date.now()),
      budget_source: "api",
    });
    const res = await call<BudgetBody>(bench.baseUrl, "PUT", "/v1/advertisers/acme/budget", {
      body: { amount: 300 },
      token: OTHER_WRITE_TOKEN,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      old_budget_micros: 250_500_000,
      old_budget_source: "api",
      new_budget_micros: 300_000_000,
    });
    const audit = await call<AuditBody>(bench.baseUrl, "GET", "/v1/advertisers/acme/budget/audit", {
      token: READ_TOKEN,
    });
    expect(audit.body.items[0]).toMatchObject({
      action: "set_budget",
      old_budget_micros: 250_500_000,
      new_budget_micros: 300_000_000,
      source: "api",
    });
    expect(audit.body.items[0]?.actor).toMatch(/^token-[0-9a-f]{8}$/);
    expect(audit.text ?? "").not.toContain(OTHER_WRITE_TOKEN);
  });

  it("rejects bad budgets with clear 400s and produces nothing", async () => {
    const cases: [unknown, string][] = [
      [{ amount: "-5" }, "amount"],
      [{ amount: "ten" }, "amount"],
      [{ amount: "0.0000001" }, "amount"],
      [{ amount: "2000000000" }, "amount"],
      [{ amount: true }, "amount"],
      [{}, "amount"],
      [{ amount: "5", period: "week" }, "period"],
      [{ amount: "5", period: "hour" }, "period"],
      [{ amount: "5", colour: "blue" }, ""],
    ];
    for (const [body, field] of cases) {
      const res = await call<{ error: { code: string; details?: { path: string[] }[] } }>(
        bench.baseUrl,
        "PUT",
        "/v1/advertisers/bad-budget/budget",
        { body, token: WRITE_TOKEN },
      );
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      if (field !== "") expect(JSON.stringify(res.body.error.details)).toContain(field);
      expect(res.text).not.toMatch(/\n\s+at /);
    }
    const audit = await call<AuditBody>(bench.baseUrl, "GET", "/v1/advertisers/bad-budget/budget/audit", {
      token: READ_TOKEN,
    });
    expect(audit.body.items).toEqual([]);
    expect(reader.records.some((r) => r.key === "bad-budget")).toBe(false);
  });

  it("refuses bodies that are too large, not JSON, or of another content type", async () => {
    const huge = await call(bench.baseUrl, "PUT", "/v1/advertisers/acme/budget", {
      rawBody: JSON.stringify({ amount: "1", advertiser: "x".repeat(20_000) }),
      headers: { "content-type": "application/json" },
      token: WRITE_TOKEN,
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: { code: "payload_too_large" } });
    const notJson = await call(bench.baseUrl, "PUT", "/v1/advertisers/acme/budget", {
      rawBody: '{"amount": 1,',
      headers: { "content-type": "application/json" },
      token: WRITE_TOKEN,
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({
      error: { code: "bad_request", message: "request body is not valid JSON" },
    });
    const text = await call(bench.baseUrl, "PUT", "/v1/advertisers/acme/budget", {
      rawBody: "amount=1",
      headers: { "content-type": "text/plain" },
      token: WRITE_TOKEN,
    });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ error: { code: "unsupported_media_type" } });
  });

  it("pauses and resumes serving through the tracker's state, audited", async () => {
    await call(bench.baseUrl, "PUT", "/v1/advertisers/pausable/budget", {
      body: { amount: "100" },
      token: WRITE_TOKEN,
    });
    const paused = await call<{ paused: boolean; serving: { can_serve: boolean; reason: string | null } }>(
      bench.baseUrl,
      "POST",
      "/v1/advertisers/pausable/pause",
      { body: { note: "campaign review" }, token: WRITE_TOKEN },
    );
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, serving: { can_serve: false, reason: "paused" } });
    expect(await bench.redis.hget(`${bench.prefix}adv:{pausable}`, "can_serve")).toBe("0");
    const lookup = await call(bench.baseUrl, "GET", "/v1/advertisers/pausable/serving", {
      token: READ_TOKEN,
    });
    expect(lookup.body).toMatchObject({ can_serve: false, reason: "paused" });

    const resumed = await call<{ paused: boolean; serving: { reason: string | null } }>(
      bench.baseUrl,
      "POST",
      "/v1/advertisers/pausable/resume",
      { token: WRITE_TOKEN },
    );
    expect(resumed.status).toBe(200);
    expect(resumed.body.paused).toBe(false);
    expect(resumed.body.serving.reason).not.toBe("paused");

    const audit = await call<AuditBody>(bench.baseUrl, "GET", "/v1/advertisers/pausable/budget/audit", {
      token: READ_TOKEN,
    });
    expect(audit.body.items.map((item) => [item.action, item.actor, item.note])).toEqual([
      ["resume", "alice", null],
      ["pause", "alice", "campaign review"],
      ["set_budget", "alice", null],
    ]);
  });

  it("pages the audit trail newest first with a keyset cursor", async () => {
    const first = await call<AuditBody>(
      bench.baseUrl,
      "GET",
      "/v1/advertisers/pausable/budget/audit?limit=2",
      { token: READ_TOKEN },
    );
    expect(first.body.items.map((item) => item.action)).toEqual(["resume", "pause"]);
    expect(first.body.next_before_id).toBe(first.body.items[1]?.id);
    const second = await call<AuditBody>(
      bench.baseUrl,
      "GET",
      `/v1/advertisers/pausable/budget/audit?limit=2&before_id=${first.body.next_before_id}`,
      { token: READ_TOKEN },
    );
    expect(second.body.items.map((item) => item.action)).toEqual(["set_budget"]);
    expect(second.body.next_before_id).toBeNull();
    expect(
      (
        await call(bench.baseUrl, "GET", "/v1/advertisers/pausable/budget/audit?limit=0", {
          token: READ_TOKEN,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call(bench.baseUrl, "GET", "/v1/advertisers/pausable/budget/audit?before_id=x", {
          token: READ_TOKEN,
        })
      ).status,
    ).toBe(400);
  });

  it("connects as a role that may append to the audit but not rewrite it or touch Gold", async () => {
    const client = new pg.Client({ connectionString: bench.db.apiUrl });
    await client.connect();
    try {
      await expect(client.query("UPDATE api.budget_audit SET actor = 'mallory'")).rejects.toThrow(
        /permission denied/,
      );
      await expect(client.query("DELETE FROM api.budget_audit")).rejects.toThrow(/permission denied/);
      await expect(client.query("DELETE FROM gold.advertiser_spend")).rejects.toThrow(/permission denied/);
      await expect(client.query("SELECT count(*) FROM silver.ad_click_events_clean")).rejects.toThrow(
        /permission denied/,
      );
      const { rows } = await client.query("SELECT count(*)::int AS n FROM gold.monthly_spend");
      expect(rows[0]).toEqual({ n: 0 });
    } finally {
      await client.end();
    }
  });

  it("answers 503 with Retry-After and produces nothing when Postgres is down", async () => {
    const down = await startApiBench("budgets-pgdown", {
      env: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      const res = await call(down.baseUrl, "PUT", "/v1/advertisers/pg-down-budget/budget", {
        body: { amount: "10" },
        token: WRITE_TOKEN,
      });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("2");
      expect(res.body).toMatchObject({ error: { code: "dependency_unavailable" } });
      await sleep(500);
      expect(reader.records.some((r) => r.key === "pg-down-budget")).toBe(false);
    } finally {
      await down.close();
    }
  });

  it("limits writes per caller with 429, Retry-After and the error shape", async () => {
    const limited = await startApiBench("budgets-limited", {
      env: { API_WRITE_RATE_LIMIT_PER_MINUTE: "2" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      const put = () =>
        call(limited.baseUrl, "PUT", "/v1/advertisers/limited/budget", {
          body: { amount: "1" },
          token: WRITE_TOKEN,
        });
      expect((await put()).status).toBe(200);
      expect((await put()).status).toBe(200);
      const third = await put();
      expect(third.status).toBe(429);
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(third.body).toMatchObject({ error: { code: "rate_limited", request_id: expect.any(String) } });
      // Reads are never limited.
      expect(
        (await call(limited.baseUrl, "GET", "/v1/advertisers/limited/serving", { token: READ_TOKEN })).status,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
