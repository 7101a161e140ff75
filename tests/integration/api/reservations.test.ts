import { advertiserKey, reservationsKey } from "@adpipe/serving-client";
import type { SpendStore } from "@adpipe/spend-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiBench,
  call,
  createTrackerState,
  READ_TOKEN,
  startApiBench,
  WRITE_TOKEN,
} from "./harness.js";

// POST /v1/reservations and /v1/reservations:release against real Redis, on state the real writer wrote.

let bench: ApiBench;
let store: SpendStore;
const BODY_LIMIT = 8_192;

beforeAll(async () => {
  bench = await startApiBench("resv", {
    env: { API_BODY_LIMIT_BYTES: String(BODY_LIMIT), API_MAX_BATCH_IDS: "20" },
  });
  store = await createTrackerState(bench);
  const now = Date.now();
  await store.applyBatch(
    ["capped", "open"].map((advertiserId, offset) => ({
      partition: 0,
      offset,
      timestampMs: now,
      advertiserId,
      spend: null,
      budget: {
        budgetMicros: 10_000_000,
        eventTimeMs: now,
        source: "api",
        mode: advertiserId === "capped" ? "hard_cap" : "observe",
      },
    })),
    [{ partition: 0, offset: 2 }],
  );
});

afterAll(async () => {
  await bench?.close();
});

const item = (advertiser_id: string, reservation_id: string, max_cost_micros: number) => ({
  advertiser_id,
  reservation_id,
  max_cost_micros,
  ttl_ms: 30_000,
});

describe("POST /v1/reservations", () => {
  it("needs a write token: none 401; a read token is refused like on every write route (401 invalid_token)", async () => {
    const body = { reservations: [item("capped", "auth", 1)] };
    expect((await call(bench.baseUrl, "POST", "/v1/reservations", { body })).status).toBe(401);
    for (const path of ["/v1/reservations", "/v1/reservations:release"]) {
      const read = await call(bench.baseUrl, "POST", path, { body, token: READ_TOKEN });
      expect(read.status).toBe(401);
      expect(read.headers.get("www-authenticate")).toBe('Bearer realm="adpipe", error="invalid_token"');
    }
    expect(await bench.redis.exists(reservationsKey("capped", bench.prefix))).toBe(0);
  });

  it("reserves in bulk, in request order, and releases", async () => {
    const answer = await call<{ results: unknown[] }>(bench.baseUrl, "POST", "/v1/reservations", {
      token: WRITE_TOKEN,
      body: {
        reservations: [
          item("capped", "a", 6_000_000),
          item("open", "a", 6_000_000),
          item("capped", "b", 6_000_000),
          item("nobody", "a", 1),
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual([
      {
        advertiser_id: "capped",
        reservation_id: "a",
        granted: true,
        reason: null,
        remaining_micros: 4_000_000,
      },
      {
        advertiser_id: "open",
        reservation_id: "a",
        granted: true,
        reason: null,
        remaining_micros: 10_000_000,
      },
      {
        advertiser_id: "capped",
        reservation_id: "b",
        granted: false,
        reason: "insufficient_budget",
        remaining_micros: 4_000_000,
      },
      {
        advertiser_id: "nobody",
        reservation_id: "a",
        granted: false,
        reason: "unknown",
        remaining_micros: null,
      },
    ]);
    expect(await bench.redis.hget(advertiserKey("capped", bench.prefix), "reserved_micros")).toBe("6000000");

    const released = await call<{ results: unknown[] }>(bench.baseUrl, "POST", "/v1/reservations:release", {
      token: WRITE_TOKEN,
      body: {
        reservations: [
          { advertiser_id: "capped", reservation_id: "a" },
          { advertiser_id: "capped", reservation_id: "zz" },
        ],
      },
    });
    expect(released.status).toBe(200);
    expect(released.body.results).toEqual([
      { advertiser_id: "capped", reservation_id: "a", released: true },
      { advertiser_id: "capped", reservation_id: "zz", released: false },
    ]);
    expect(await bench.redis.hget(advertiserKey("capped", bench.prefix), "reserved_micros")).toBe("0");
  });

  it("validates: bad fields and too many items 400, a body over the limit 413", async () => {
    const post = (body: unknown) =>
      call(bench.baseUrl, "POST", "/v1/reservations", { body, token: WRITE_TOKEN });
    for (const bad of [
      {},
      { reservations: [] },
      { reservations: [{ ...item("capped", "x", 1), max_cost_micros: 0 }] },
      { reservations: [{ ...item("capped", "x", 1), max_cost_micros: 1.5 }] },
      { reservations: [{ ...item("capped", "x", 1), ttl_ms: 600_001 }] },
      { reservations: [{ ...item("capped", "x", 1), reservation_id: "" }] },
      { reservations: [{ ...item("capped", "x", 1), advertiser_id: "a\u0001" }] },
      { reservations: Array.from({ length: 21 }, (_, i) => item("capped", `m${i}`, 1)) },
    ]) {
      expect((await post(bad)).status).toBe(400);
    }
    const huge = await post({ reservations: [item("capped", "x", 1)], padding: "x".repeat(BODY_LIMIT) });
    expect(huge.status).toBe(413);
    expect(await bench.redis.hget(advertiserKey("capped", bench.prefix), "reserved_micros")).toBe("0");
  });
});
