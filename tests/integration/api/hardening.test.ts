import { request as httpRequest } from "node:http";
import { REPORTS } from "@adpipe/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../../services/api/scripts/build-web.js";
import { dependency } from "../../../services/api/src/dependency.js";
import {
  type ApiBench,
  call,
  createTrackerState,
  READ_TOKEN,
  startApiBench,
  WRITE_TOKEN,
} from "./harness.js";
import { TopicReader } from "./topic-reader.js";

/**
 * Issue 14, defects 2–8: bad input is always a 4xx in the documented error shape (never a 500, never a 503
 * that blames Postgres), the rate limit counts principals, money is never silently rounded, assets are looked
 * up without the prototype, and advertiser ids follow one rule everywhere.
 */

interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: unknown };
}
interface ClicksBody {
  accepted: string[];
  rejected: { index: number; click_id: string | null; errors: string[] }[];
}

const click = (id: string, overrides: Record<string, unknown> = {}) => ({
  event_type: "ad_click",
  click_id: id,
  advertiser: "Hardened Ltd",
  advertiser_id: "hardened",
  ad_id: "ad-1",
  amount: "0.25",
  timestamp: new Date().toISOString(),
  ...overrides,
});

/** A raw HTTP request (fetch would normalise the header values this test needs to send exactly). */
function rawRequest(
  baseUrl: string,
  options: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("bad input is always a 4xx in the documented shape", () => {
  let bench: ApiBench;
  let reader: TopicReader;

  beforeAll(async () => {
    await buildDashboard();
    bench = await startApiBench("hardening", { env: { API_WRITE_RATE_LIMIT_PER_MINUTE: "0" } });
    reader = await TopicReader.start(bench.topic.kafka, bench.topic.topic);
    await createTrackerState(bench);
  });
  afterAll(async () => {
    await reader?.stop();
    await bench?.close();
  });

  it("2. deeply nested JSON is a 400 (it was a 500: JSON.stringify overflowed the stack)", async () => {
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    const res = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
      rawBody: deep,
      token: WRITE_TOKEN,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "bad_request",
      details: [{ in: "body", message: "too_deep" }],
    });
    // Nested inside a click, too; and on every other JSON route.
    const nested = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
      body: [click("deep-1", { extra: JSON.parse(`${"[".repeat(40)}${"]".repeat(40)}`) })],
      token: WRITE_TOKEN,
    });
    expect(nested.status).toBe(400);
    const budget = await call<ErrorBody>(bench.baseUrl, "PUT", "/v1/advertisers/x/budget", {
      rawBody: `{"amount":${"[".repeat(100)}${"]".repeat(100)}}`,
      token: WRITE_TOKEN,
      headers: { "content-type": "application/json" },
    });
    expect(budget.status).toBe(400);
    // Brackets inside strings are text, not nesting.
    const inString = await call<ClicksBody>(bench.baseUrl, "POST", "/v1/clicks", {
      body: [click("deep-text", { ad_id: "[".repeat(100) })],
      token: WRITE_TOKEN,
    });
    expect(inString.status).toBe(202);
    // Anything that is not a click batch is a 400 or a 422, never a 5xx.
    for (const rawBody of [
      "42",
      '"x"',
      "null",
      "{}",
      "[]",
      "[null]",
      "[[]]",
      '[{"a":1e309}]',
      "{",
      '{"a":"\\ud800"}',
    ]) {
      const answer = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
        rawBody,
        token: WRITE_TOKEN,
        headers: { "content-type": "application/json" },
      });
      expect([400, 422], rawBody).toContain(answer.status);
      expect(answer.body.error.code, rawBody).toMatch(/^(bad_request|unprocessable)$/);
    }
  });

  it("3. out-of-range dates on all eight report routes are a 400 naming the field, not a Postgres outage", async () => {
    expect(REPORTS).toHaveLength(8);
    for (const report of REPORTS) {
      for (const [field, value] of [
        ["from", "0000-01-01T00:00:00Z"],
        ["to", "0000-01-01T00:00:00Z"],
        ["from", "1969-12-31T23:59:59Z"],
        ["to", "9999-12-31T23:59:59-05:00"],
      ] as const) {
        const res = await call<ErrorBody>(
          bench.baseUrl,
          "GET",
          `${report.path}?${field}=${encodeURIComponent(value)}`,
          {
            token: READ_TOKEN,
          },
        );
        expect(res.status, `${report.path} ${field}=${value}`).toBe(400);
        expect(res.headers.get("retry-after")).toBeNull();
        expect(res.body.error.details).toEqual([
          expect.objectContaining({ in: "querystring", path: [field] }),
        ]);
      }
      // An offset Postgres does not read (+23:59) is normalised to UTC first.
      const odd = await call(
        bench.baseUrl,
        "GET",
        `${report.path}?from=${encodeURIComponent("2026-01-01T00:00:00+23:59")}`,
        {
          token: READ_TOKEN,
        },
      );
      expect(odd.status, report.path).toBe(200);
    }
  });

  it("3. a NUL in a budget's source or a pause's note is a 400 naming the field", async () => {
    const budget = await call<ErrorBody>(bench.baseUrl, "PUT", "/v1/advertisers/nul-co/budget", {
      body: { amount: "10", source: "web\u0000app" },
      token: WRITE_TOKEN,
    });
    expect(budget.status).toBe(400);
    expect(budget.body.error.details).toEqual([expect.objectContaining({ path: ["source"] })]);
    const pause = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/advertisers/nul-co/pause", {
      body: { note: "bad\u0000note" },
      token: WRITE_TOKEN,
    });
    expect(pause.status).toBe(400);
    expect(pause.body.error.details).toEqual([expect.objectContaining({ path: ["note"] })]);
    // Notes may span lines.
    const lines = await call(bench.baseUrl, "POST", "/v1/advertisers/nul-co/pause", {
      body: { note: "line one\nline two\ttabbed" },
      token: WRITE_TOKEN,
    });
    expect(lines.status).toBe(200);
    expect(reader.records.some((r) => r.value.includes("web\\u0000app"))).toBe(false);
  });

  it("3. a Postgres data error (SQLSTATE 22xxx) is a 400 naming the field; an outage stays a 503", async () => {
    const inputs = { from: "0000-01-01T00:00:00Z", note: "fine" };
    const failed = await dependency(
      "postgres",
      () => bench.db.admin.query("SELECT $1::timestamptz AS t", [inputs.from]),
      { inputs },
    ).catch((error: unknown) => error);
    expect(failed).toMatchObject({
      statusCode: 400,
      details: [{ path: ["from"], message: "invalid_value" }],
    });
    // The value Postgres could not hold is not quoted in its message (a NUL): every given field is named.
    const nul = await dependency(
      "postgres",
      () => bench.db.admin.query("SELECT $1::text AS t", ["a\u0000b"]),
      {
        inputs: { note: "a\u0000b" },
      },
    ).catch((error: unknown) => error);
    expect(nul).toMatchObject({ statusCode: 400, details: [{ path: ["note"] }] });
    // Not a data error (an undefined table): still the dependency's fault, 503.
    const other = await dependency("postgres", () => bench.db.admin.query("SELECT * FROM no_such_table"), {
      inputs,
    }).catch((error: unknown) => error);
    expect(other).toMatchObject({ statusCode: 503, retryAfterSeconds: 2 });
  });

  it("5. more than six decimals is refused as too_precise, as text and as a number, never rounded", async () => {
    for (const amount of ["10.1234567", 10.1234567, 1e-7, "1e-7", "0.0000005"]) {
      const res = await call<ErrorBody>(bench.baseUrl, "PUT", "/v1/advertisers/precise/budget", {
        body: { amount },
        token: WRITE_TOKEN,
      });
      expect(res.status, String(amount)).toBe(400);
      expect(res.body.error.details).toEqual([{ path: ["amount"], message: "too_precise" }]);
    }
    const exact = await call<{ new_budget_micros: number }>(
      bench.baseUrl,
      "PUT",
      "/v1/advertisers/precise/budget",
      {
        body: { amount: "10.1234560" },
        token: WRITE_TOKEN,
      },
    );
    expect(exact.status).toBe(200);
    expect(exact.body.new_budget_micros).toBe(10_123_456);
  });

  it("6. asset names are looked up without the prototype: __proto__ and friends are 404", async () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype"]) {
      const res = await call<ErrorBody>(bench.baseUrl, "GET", `/assets/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    expect((await fetch(`${bench.baseUrl}/assets/app.js`)).status).toBe(200);
  });

  it("7. advertiser ids: the set the event contract accepts is the set every route accepts", async () => {
    const odd = [
      "adv{x}",
      "}",
      "{",
      "50%",
      "a%7Bb",
      "a/b",
      "a?b#c;d",
      "   ",
      "€".repeat(128),
      "nel\u0085x",
      "💸".repeat(64),
    ];
    for (const id of odd) {
      const path = `/v1/advertisers/${encodeURIComponent(id)}`;
      const lookup = await call<{ advertiser_id: string }>(bench.baseUrl, "GET", `${path}/serving`, {
        token: READ_TOKEN,
      });
      expect(lookup.status, id).toBe(200);
      expect(lookup.body.advertiser_id).toBe(id);
      const batch = await call<{ results: { advertiser_id: string }[] }>(
        bench.baseUrl,
        "POST",
        "/v1/serving:batch",
        {
          body: { ids: [id] },
          token: READ_TOKEN,
        },
      );
      expect(batch.body.results[0]?.advertiser_id, id).toBe(id);
      const clicked = await call<ClicksBody>(bench.baseUrl, "POST", "/v1/clicks", {
        body: [click(`id-${odd.indexOf(id)}`, { advertiser_id: id })],
        token: WRITE_TOKEN,
      });
      expect(clicked.status, id).toBe(202);
      const budget = await call(bench.baseUrl, "PUT", `${path}/budget`, {
        body: { amount: "5" },
        token: WRITE_TOKEN,
      });
      expect(budget.status, id).toBe(200);
      const paused = await call<{ serving: { advertiser_id: string; reason: string | null } }>(
        bench.baseUrl,
        "POST",
        `${path}/pause`,
        { body: {}, token: WRITE_TOKEN },
      );
      expect(paused.status, id).toBe(200);
      expect(paused.body.serving).toMatchObject({ advertiser_id: id, reason: "paused" });
      const audit = await call<{ items: unknown[] }>(bench.baseUrl, "GET", `${path}/budget/audit`, {
        token: READ_TOKEN,
      });
      expect(audit.body.items.length, id).toBe(2);
    }
    // And what the contract refuses, every route refuses.
    for (const id of ["a\u0000b", "tab\there", "x".repeat(129), "lone\ud800"]) {
      const encoded = encodeURIComponent(id.replace(/[\ud800-\udfff]/g, "\ufffd")).replace(
        "%EF%BF%BD",
        "%ED%A0%80",
      );
      const lookup = await call(bench.baseUrl, "GET", `/v1/advertisers/${encoded}/serving`, {
        token: READ_TOKEN,
      });
      expect(lookup.status, JSON.stringify(id)).toBe(400);
      const batch = await call(bench.baseUrl, "POST", "/v1/serving:batch", {
        body: { ids: [id] },
        token: READ_TOKEN,
      });
      expect(batch.status, JSON.stringify(id)).toBe(400);
      const clicked = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
        body: [click("refused", { advertiser_id: id })],
        token: WRITE_TOKEN,
      });
      expect(clicked.status, JSON.stringify(id)).toBe(422);
    }
  });

  it("8. 414 and 431 come in the documented error shape without echoing the URL", async () => {
    const longId = "a".repeat(2_000);
    const tooLong = await call<ErrorBody>(bench.baseUrl, "GET", `/v1/advertisers/${longId}/serving`, {
      token: READ_TOKEN,
    });
    expect(tooLong.status).toBe(414);
    expect(tooLong.body.error).toMatchObject({ code: "uri_too_long", request_id: expect.any(String) });
    expect(tooLong.text).not.toContain(longId.slice(0, 100));
    const big = await rawRequest(bench.baseUrl, {
      method: "GET",
      path: "/healthz",
      headers: { "x-filler": "f".repeat(20_000) },
    });
    expect(big.status).toBe(431);
    expect(JSON.parse(big.text)).toMatchObject({
      error: { code: "headers_too_large", request_id: expect.any(String) },
    });
  });

  it("8. 401 says WWW-Authenticate: Bearer", async () => {
    const res = await call(bench.baseUrl, "PUT", "/v1/advertisers/x/budget", { body: { amount: "1" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="adpipe"$/);
  });

  it("8. a click amount of 1e309 is out of range (amount_too_large), not amount_missing", async () => {
    const res = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
      rawBody: JSON.stringify([click("huge-amount")]).replace('"amount":"0.25"', '"amount":1e309'),
      token: WRITE_TOKEN,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual({
      rejected: [{ index: 0, click_id: "huge-amount", errors: ["amount_too_large"] }],
    });
  });

  it("8. field paths name the offending field; a __proto__ key is a forbidden key", async () => {
    const name = await call<ErrorBody>(bench.baseUrl, "PUT", "/v1/advertisers/paths/budget", {
      body: { amount: "1", advertiser: "bell\u0007name" },
      token: WRITE_TOKEN,
    });
    expect(name.status).toBe(400);
    expect(name.body.error.details).toEqual([expect.objectContaining({ in: "body", path: ["advertiser"] })]);
    const proto = await call<ErrorBody>(bench.baseUrl, "PUT", "/v1/advertisers/paths/budget", {
      rawBody: '{"amount":"1","__proto__":{"isAdmin":true}}',
      token: WRITE_TOKEN,
      headers: { "content-type": "application/json" },
    });
    expect(proto.status).toBe(400);
    expect(proto.body.error).toMatchObject({
      message: expect.stringContaining("forbidden key"),
      details: [{ in: "body", path: ["__proto__"], message: "forbidden_key" }],
    });
    const nested = await call<ErrorBody>(bench.baseUrl, "POST", "/v1/clicks", {
      rawBody: `[${JSON.stringify(click("ok"))},{"constructor":{"prototype":{"x":1}}}]`,
      token: WRITE_TOKEN,
      headers: { "content-type": "application/json" },
    });
    expect(nested.status).toBe(400);
    expect(nested.body.error.details).toEqual([
      { in: "body", path: [1, "constructor", "prototype"], message: "forbidden_key" },
    ]);
  });
});

describe("4. the write rate limit counts authenticated principals, not header spellings", () => {
  let bench: ApiBench;
  beforeAll(async () => {
    bench = await startApiBench("rate-principal", { env: { API_WRITE_RATE_LIMIT_PER_MINUTE: "3" } });
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("bearer T, BEARER T, Bearer  T, a tab, a trailing space share one budget", async () => {
    const spellings = [
      `Bearer ${WRITE_TOKEN}`,
      `bearer ${WRITE_TOKEN}`,
      `BEARER ${WRITE_TOKEN}`,
      `Bearer  ${WRITE_TOKEN}`,
      `Bearer\t${WRITE_TOKEN}`,
      `Bearer ${WRITE_TOKEN} `,
      `bEaReR ${WRITE_TOKEN}`,
    ];
    const statuses: number[] = [];
    for (const authorization of spellings) {
      const res = await rawRequest(bench.baseUrl, {
        method: "PUT",
        path: "/v1/advertisers/limited/budget",
        // Fails validation after authentication: nothing is written, the request still counts.
        headers: { authorization, "content-type": "application/json" },
        body: "{}",
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429, 429]);
    // Another principal has its own budget.
    const other = await rawRequest(bench.baseUrl, {
      method: "PUT",
      path: "/v1/advertisers/limited/budget",
      headers: {
        authorization: "Bearer rotated-secret-fedcba9876543210",
        "content-type": "application/json",
      },
      body: "{}",
    });
    expect(other.status).toBe(400);
  });
});
