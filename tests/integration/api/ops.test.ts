import { setTimeout as sleep } from "node:timers/promises";
import { advertiserKey } from "@adpipe/serving-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../../services/api/scripts/build-web.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown; responses?: Record<string, unknown> }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

describe("health, readiness, metrics, OpenAPI and the dashboard files", () => {
  let bench: ApiBench;

  beforeAll(async () => {
    await buildDashboard();
    bench = await startApiBench("ops");
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("is alive and ready when Redis and Postgres answer", async () => {
    expect((await call(bench.baseUrl, "GET", "/healthz")).body).toEqual({ status: "ok" });
    const ready = await call<{ status: string; checks: Record<string, { ok: boolean }> }>(
      bench.baseUrl,
      "GET",
      "/readyz",
      { token: READ_TOKEN },
    );
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
    expect(ready.body.checks.redis?.ok).toBe(true);
    expect(ready.body.checks.postgres?.ok).toBe(true);
    // Anonymous callers (load balancers) get the status only.
    expect((await call(bench.baseUrl, "GET", "/readyz")).body).toEqual({ status: "ready" });
  });

  it("exposes Prometheus metrics, request durations included", async () => {
    await call(bench.baseUrl, "GET", "/v1/advertisers/metrics-probe/serving", { token: READ_TOKEN });
    const res = await fetch(`${bench.baseUrl}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /api_http_request_duration_seconds_bucket\{.*route="\/v1\/advertisers\/:id\/serving".*\}/,
    );
    expect(text).toContain('service="api"');
  });

  it("answers unknown routes with the error shape", async () => {
    const res = await call(bench.baseUrl, "GET", "/v1/nope", { token: READ_TOKEN });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "not_found", request_id: expect.any(String) } });
  });

  it("serves an OpenAPI 3 document generated from the route schemas", async () => {
    const res = await call<OpenApiDocument>(bench.baseUrl, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const path of [
      "/v1/advertisers/{id}/serving",
      "/v1/serving:batch",
      "/v1/serving",
      "/v1/serving/changes",
      "/v1/advertisers/{id}/budget",
      "/v1/advertisers/{id}/pause",
      "/v1/advertisers/{id}/resume",
      "/v1/advertisers/{id}/budget/audit",
      "/v1/clicks",
      "/v1/reports/spend/total",
      "/v1/reports/spend/monthly",
      "/v1/reports/spend/daily",
      "/v1/reports/spend/hourly",
      "/v1/reports/budget/trend",
      "/v1/reports/budget/changes",
      "/v1/reports/serving-status",
      "/v1/reports/spend-vs-budget",
      "/v1/advertisers",
      "/v1/pipeline/health",
      "/healthz",
      "/readyz",
      "/metrics",
    ]) {
      expect(paths).toContain(path);
    }
    expect(doc.paths["/v1/advertisers/{id}/budget"]?.put?.security).toEqual([{ bearerAuth: [] }]);
    // Reads need a token too (issue 14); probes do not.
    expect(doc.paths["/v1/reports/spend/total"]?.get?.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/healthz"]?.get?.security).toEqual([]);
    expect(Object.keys(doc.paths["/v1/clicks"]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["202", "400", "401", "413", "422", "429"]),
    );
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    // Internal routes stay out of the public description.
    expect(paths).not.toContain("/");
    expect(paths).not.toContain("/openapi.json");
  });

  it("reports pipeline health: topic records per second and consumer lag", async () => {
    const first = await call<{ topic: string; total_records: number | null; errors: string[] }>(
      bench.baseUrl,
      "GET",
      "/v1/pipeline/health",
      { token: READ_TOKEN },
    );
    expect(first.status).toBe(200);
    expect(first.body.topic).toBe(bench.topic.topic);
    expect(first.body.errors).toEqual([]);
    const before = first.body.total_records ?? 0;
    const now = new Date().toISOString();
    const clicks = Array.from({ length: 5 }, (_, i) => ({
      event_type: "ad_click",
      click_id: `health-${i}`,
      advertiser: "Health Co",
      advertiser_id: "health",
      ad_id: "ad-1",
      amount: "0.10",
      timestamp: now,
    }));
    expect(
      (await call(bench.baseUrl, "POST", "/v1/clicks", { body: clicks, token: WRITE_TOKEN })).status,
    ).toBe(202);
    await sleep(1_100);
    const second = await call<{
      total_records: number;
      events_per_second: number | null;
      consumer_groups: { group: string; lag: number | null }[];
      gold_freshness_seconds: number | null;
      gold_future_events: unknown;
    }>(bench.baseUrl, "GET", "/v1/pipeline/health", { token: READ_TOKEN });
    expect(second.body.total_records).toBe(before + 5);
    expect(second.body.events_per_second).toBeGreaterThan(0);
    // No consumer of the test topic has committed: lag unknown, not zero.
    expect(second.body.consumer_groups).toEqual([
      { group: "adpipe-api-test-ingestor", lag: null },
      { group: "adpipe-api-test-tracker", lag: null },
    ]);
    expect(second.body.gold_freshness_seconds).toBeNull();
    expect(second.body.gold_future_events).toBeNull();
  });

  it("reports topic resets a service detected (the dashboard shows them in red), read as the API role", async () => {
    const health = () =>
      call<{
        topic_resets: { service: string; partition: number; stored_offset: string | null }[];
        errors: string[];
      }>(bench.baseUrl, "GET", "/v1/pipeline/health", { token: READ_TOKEN });
    expect((await health()).body.topic_resets).toEqual([]);
    await bench.db.admin.query(
      `INSERT INTO ingest.topic_reset_detections
         (service, consumer, topic, "partition", stored_offset, log_start_offset, log_end_offset, reason)
       VALUES ('ingestor', 'g', $1, 0, 5259, 0, 255, 'offset_beyond_log_end')`,
      [bench.topic.topic],
    );
    try {
      // Snapshots are shared for a second.
      await sleep(1_100);
      const body = (await health()).body;
      expect(body.errors).toEqual([]);
      expect(body.topic_resets).toEqual([
        expect.objectContaining({
          service: "ingestor",
          partition: 0,
          stored_offset: "5259",
          log_end_offset: "255",
        }),
      ]);
    } finally {
      await bench.db.admin.query("DELETE FROM ingest.topic_reset_detections WHERE topic = $1", [
        bench.topic.topic,
      ]);
    }
  });

  it("serves the dashboard page and its bundled assets (no CDN)", async () => {
    const page = await fetch(`${bench.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain("Advertiser Spend Overview");
    expect(html).not.toMatch(/https?:\/\//);
    const script = await fetch(`${bench.baseUrl}/assets/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await script.text()).length).toBeGreaterThan(50_000);
    expect((await fetch(`${bench.baseUrl}/assets/app.css`)).status).toBe(200);
    expect((await fetch(`${bench.baseUrl}/assets/..%2Fmain.js`)).status).toBe(404);
    // Reads need a token by default (issue 14): the page asks for one.
    expect((await call(bench.baseUrl, "GET", "/dashboard/config.json")).body).toEqual({
      refresh_ms: 5_000,
      read_token_required: true,
    });
  });

  it("keeps serving lookups up while Postgres is down; /readyz names Postgres to token holders only", async () => {
    const down = await startApiBench("ops-pgdown", {
      // Public reads too: an anonymous caller of /v1/pipeline/health must not see driver messages either.
      env: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", API_PUBLIC_READS: "true" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      await bench.redis.hset(advertiserKey("pg-down", bench.prefix), {
        can_serve: "1",
        reason: "",
        period: "2026-11-25",
        net_micros: "1",
        gross_micros: "1",
        budget_micros: "5000000",
        clicks: "1",
        updated_at: String(Date.now()),
      });
      const lookup = await call(down.baseUrl, "GET", "/v1/advertisers/pg-down/serving");
      expect(lookup.status).toBe(200);
      expect(lookup.body).toMatchObject({ can_serve: true, known: true });
      const ready = await call<{ status: string; checks: Record<string, { ok: boolean; error?: string }> }>(
        down.baseUrl,
        "GET",
        "/readyz",
        { token: READ_TOKEN },
      );
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis?.ok).toBe(true);
      expect(ready.body.checks.postgres?.ok).toBe(false);
      expect(ready.body.checks.postgres?.error).toMatch(/ECONNREFUSED/);
      // Issue 14, defect 9: anonymous callers get the status only, no driver message.
      const anonymous = await call(down.baseUrl, "GET", "/readyz");
      expect(anonymous.status).toBe(503);
      expect(anonymous.body).toEqual({ status: "not_ready" });
      const health = await call<{ errors: string[] }>(down.baseUrl, "GET", "/v1/pipeline/health");
      expect(health.body.errors).toContain("postgres: unavailable");
      expect(health.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      const detailed = await call<{ errors: string[] }>(down.baseUrl, "GET", "/v1/pipeline/health", {
        token: READ_TOKEN,
      });
      expect(detailed.body.errors.join(" ")).toMatch(/^postgres: .*ECONNREFUSED/);
      expect((await call(down.baseUrl, "GET", "/readyz/serving")).status).toBe(200);
      const report = await call(down.baseUrl, "GET", "/v1/reports/spend/total");
      expect(report.status).toBe(503);
      expect(report.headers.get("retry-after")).toBe("2");
      expect(report.body).toMatchObject({
        error: { code: "dependency_unavailable", details: { dependency: "postgres" } },
      });
      expect(report.text).not.toContain("127.0.0.1:1");
    } finally {
      await down.close();
    }
  });
});
