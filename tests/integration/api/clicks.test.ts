import { parseEvent } from "@adpipe/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiBench, call, startApiBench, WRITE_TOKEN } from "./harness.js";
import { TopicReader } from "./topic-reader.js";

interface ClicksBody {
  accepted: string[];
  rejected: { index: number; click_id: string | null; errors: string[] }[];
}

function click(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_type: "ad_click",
    click_id: id,
    advertiser: "Clicky Ltd",
    advertiser_id: "clicky",
    ad_id: "ad-9",
    amount: "0.25",
    budget_value: 100,
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}

describe("POST /v1/clicks", () => {
  let bench: ApiBench;
  let reader: TopicReader;

  beforeAll(async () => {
    bench = await startApiBench("clicks", {
      env: { API_BODY_LIMIT_BYTES: "65536", API_MAX_CLICKS_PER_REQUEST: "50" },
    });
    reader = await TopicReader.start(bench.topic.kafka, bench.topic.topic);
  });
  afterAll(async () => {
    await reader?.stop();
    await bench?.close();
  });

  it("accepts one click: 202, produced keyed by advertiser_id with the request time as record timestamp", async () => {
    const before = Date.now();
    const res = await call<ClicksBody>(bench.baseUrl, "POST", "/v1/clicks", {
      body: click("c-single"),
      token: WRITE_TOKEN,
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: ["c-single"], rejected: [] });
    const record = await reader.waitFor((r) => r.value.includes('"c-single"'));
    expect(record.key).toBe("clicky");
    expect(record.timestampMs).toBeGreaterThanOrEqual(before);
    expect(record.timestampMs).toBeLessThanOrEqual(Date.now());
    // The pipelines judge the record against its timestamp exactly as the API did.
    expect(parseEvent(record.value, { referenceTimeMs: record.timestampMs })).toMatchObject({
      ok: true,
      isValid: true,
      clickId: "c-single",
      amountMicros: 250_000,
    });
  });

  it("accepts a batch with per-item errors for the rejected ones, producing only the accepted", async () => {
    const items = [
      click("c-ok-1"),
      click("c-neg", { amount: "-1" }),
      "not an object",
      click("c-future", { timestamp: new Date(Date.now() + 3_600_000).toISOString() }),
      click("", {}),
      {
        event_type: "budget_update",
        click_id: "b-1",
        advertiser_id: "clicky",
        budget_value: 5,
        timestamp: new Date().toISOString(),
      },
      click("c-ok-2", { advertiser_id: "other" }),
    ];
    const res = await call<ClicksBody>(bench.baseUrl, "POST", "/v1/clicks", {
      body: items,
      token: WRITE_TOKEN,
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toEqual(["c-ok-1", "c-ok-2"]);
    expect(res.body.rejected).toEqual([
      { index: 1, click_id: "c-neg", errors: ["amount_not_positive"] },
      { index: 2, click_id: null, errors: ["not_an_object"] },
      { index: 3, click_id: "c-future", errors: ["timestamp_in_future"] },
      { index: 4, click_id: null, errors: expect.arrayContaining([expect.stringMatching(/^click_id_/)]) },
      { index: 5, click_id: "b-1", errors: ["event_type_not_allowed"] },
    ]);
    await reader.waitFor((r) => r.value.includes('"c-ok-2"'));
    expect(reader.records.find((r) => r.value.includes('"c-ok-2"'))?.key).toBe("other");
    expect(reader.records.some((r) => r.value.includes('"c-neg"') || r.value.includes('"b-1"'))).toBe(false);
  });

  it("answers 422 with the per-item errors when nothing was accepted", async () => {
    const res = await call<{ error: { code: string; details: ClicksBody } }>(
      bench.baseUrl,
      "POST",
      "/v1/clicks",
      {
        body: click("c-bad", { amount: "lots" }),
        token: WRITE_TOKEN,
      },
    );
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("unprocessable");
    expect(res.body.error.details.rejected).toEqual([
      { index: 0, click_id: "c-bad", errors: ["amount_not_numeric"] },
    ]);
  });

  it("needs a write token", async () => {
    expect((await call(bench.baseUrl, "POST", "/v1/clicks", { body: click("c-anon") })).status).toBe(401);
    expect(
      (await call(bench.baseUrl, "POST", "/v1/clicks", { body: click("c-anon"), token: "nope" })).status,
    ).toBe(401);
  });

  it("refuses wrong shapes, too many items, huge bodies and broken JSON without leaking internals", async () => {
    const scalar = await call(bench.baseUrl, "POST", "/v1/clicks", { body: 42, token: WRITE_TOKEN });
    expect(scalar.status).toBe(400);
    const empty = await call(bench.baseUrl, "POST", "/v1/clicks", { body: [], token: WRITE_TOKEN });
    expect(empty.status).toBe(400);
    const many = await call(bench.baseUrl, "POST", "/v1/clicks", {
      body: Array.from({ length: 51 }, (_, i) => click(`c-many-${i}`)),
      token: WRITE_TOKEN,
    });
    expect(many.status).toBe(400);
    const huge = await call(bench.baseUrl, "POST", "/v1/clicks", {
      body: [click("c-huge", { ad_id: "x".repeat(70_000) })],
      token: WRITE_TOKEN,
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: { code: "payload_too_large" } });
    const broken = await call(bench.baseUrl, "POST", "/v1/clicks", {
      rawBody: '[{"click_id": "x"',
      headers: { "content-type": "application/json" },
      token: WRITE_TOKEN,
    });
    expect(broken.status).toBe(400);
    for (const res of [scalar, empty, many, huge, broken]) {
      expect(res.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
      expect(res.body).toMatchObject({ error: { request_id: expect.any(String) } });
    }
  });
});
