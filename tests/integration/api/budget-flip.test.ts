import type { TrackerService } from "@adpipe/budget-tracker";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRedis } from "../../support/index.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, startBenchTracker, WRITE_TOKEN } from "./harness.js";

interface Serving {
  known: boolean;
  can_serve: boolean;
  reason: string | null;
  net_micros: number | null;
  budget_micros: number | null;
  clicks: number | null;
}

const ID = "flip-co";

/**
 * End to end through the real pieces: API → Kafka (acks all) → budget-tracker (Lua in Redis) → API lookup.
 * Spend exhausts the budget, and a budget raise through the API flips serving back on.
 */
describe("a budget raise through the API flips serving on (API + Kafka + budget-tracker + Redis)", () => {
  let bench: ApiBench;
  let tracker: TrackerService;
  let subscriber: Redis;
  const messages: { advertiserId?: string; canServe?: boolean; reason?: string | null }[] = [];

  const serving = async () =>
    (await call<Serving>(bench.baseUrl, "GET", `/v1/advertisers/${ID}/serving`, { token: READ_TOKEN })).body;
  const eventually = (check: (s: Serving) => boolean, what: string) =>
    expect
      .poll(async () => check(await serving()), { timeout: 20_000, interval: 100, message: what })
      .toBe(true);
  const click = (id: string, amount: string) => ({
    event_type: "ad_click",
    click_id: id,
    advertiser: "Flip Co",
    advertiser_id: ID,
    ad_id: "ad-1",
    amount,
    timestamp: new Date().toISOString(),
  });

  beforeAll(async () => {
    bench = await startApiBench("flip", { partitions: 2 });
    subscriber = testRedis();
    await subscriber.subscribe(`${bench.prefix}serving-changes`);
    subscriber.on("message", (_channel: string, text: string) => messages.push(JSON.parse(text)));
    tracker = await startBenchTracker(bench, "flip");
  });
  afterAll(async () => {
    await tracker?.stop();
    subscriber?.disconnect();
    await bench?.close();
  });

  it("serves after a budget is set, stops when clicks exhaust it, serves again after a raise", async () => {
    const set = await call(bench.baseUrl, "PUT", `/v1/advertisers/${ID}/budget`, {
      body: { amount: "1.00", advertiser: "Flip Co" },
      token: WRITE_TOKEN,
    });
    expect(set.status).toBe(200);
    await eventually(
      (s) => s.known && s.can_serve && s.budget_micros === 1_000_000,
      "budget 1.00 applied, serving",
    );

    const clicks = await call<{ accepted: string[] }>(bench.baseUrl, "POST", "/v1/clicks", {
      body: [click("flip-1", "0.40"), click("flip-2", "0.40"), click("flip-3", "0.40")],
      token: WRITE_TOKEN,
    });
    expect(clicks.status).toBe(202);
    expect(clicks.body.accepted).toHaveLength(3);
    await eventually(
      (s) => !s.can_serve && s.reason === "budget_exhausted",
      "exhausted after 1.20 of clicks",
    );
    expect(await serving()).toMatchObject({ net_micros: 1_200_000, clicks: 3, budget_micros: 1_000_000 });

    const raisedAt = Date.now();
    const raise = await call<{ old_budget_micros: number | null }>(
      bench.baseUrl,
      "PUT",
      `/v1/advertisers/${ID}/budget`,
      {
        body: { amount: "5" },
        token: WRITE_TOKEN,
      },
    );
    expect(raise.status).toBe(200);
    expect(raise.body.old_budget_micros).toBe(1_000_000);
    await eventually(
      (s) => s.can_serve && s.reason === null && s.budget_micros === 5_000_000,
      "raise flips serving on",
    );
    const flipMs = Date.now() - raisedAt;
    expect(flipMs).toBeLessThan(10_000);
    expect(messages).toContainEqual(expect.objectContaining({ advertiserId: ID, canServe: true }));
    expect(messages).toContainEqual(expect.objectContaining({ advertiserId: ID, canServe: false }));

    const audit = await call<{
      items: { action: string; old_budget_micros: number | null; new_budget_micros: number }[];
    }>(bench.baseUrl, "GET", `/v1/advertisers/${ID}/budget/audit`, { token: READ_TOKEN });
    expect(
      audit.body.items.map((item) => [item.action, item.old_budget_micros, item.new_budget_micros]),
    ).toEqual([
      ["set_budget", 1_000_000, 5_000_000],
      ["set_budget", null, 1_000_000],
    ]);
  });

  it("a pause holds through new clicks, and resume hands the decision back to the budget rule", async () => {
    const paused = await call(bench.baseUrl, "POST", `/v1/advertisers/${ID}/pause`, {
      body: {},
      token: WRITE_TOKEN,
    });
    expect(paused.status).toBe(200);
    expect(await serving()).toMatchObject({ can_serve: false, reason: "paused" });
    await call(bench.baseUrl, "POST", "/v1/clicks", { body: click("flip-4", "0.10"), token: WRITE_TOKEN });
    await eventually((s) => s.clicks === 4, "the click is applied while paused");
    expect(await serving()).toMatchObject({ can_serve: false, reason: "paused", net_micros: 1_300_000 });
    const resumed = await call(bench.baseUrl, "POST", `/v1/advertisers/${ID}/resume`, { token: WRITE_TOKEN });
    expect(resumed.status).toBe(200);
    expect(await serving()).toMatchObject({ can_serve: true, reason: null });
  });

  it("streams can_serve flips as Server-Sent Events, and shutdown ends open streams", async () => {
    const response = await fetch(`${bench.baseUrl}/v1/serving/changes`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = "";
    const nextEvent = async (match: RegExp): Promise<string> => {
      const deadline = Date.now() + 10_000;
      while (!match.test(received)) {
        if (Date.now() > deadline) throw new Error(`no event matching ${match} in: ${received}`);
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        received += decoder.decode(value, { stream: true });
      }
      return received;
    };
    await nextEvent(/: connected/);
    await call(bench.baseUrl, "POST", `/v1/advertisers/${ID}/pause`, { body: {}, token: WRITE_TOKEN });
    await nextEvent(/event: serving_change\ndata: .*"canServe":false.*\n\n/);
    const event = /event: serving_change\ndata: (.*)\n\n/.exec(received)?.[1] ?? "{}";
    expect(JSON.parse(event)).toMatchObject({
      type: "serving_change",
      advertiserId: ID,
      canServe: false,
      reason: "paused",
    });
    received = "";
    await call(bench.baseUrl, "POST", `/v1/advertisers/${ID}/resume`, { token: WRITE_TOKEN });
    await nextEvent(/"canServe":true/);
    // The stream stays open: afterAll's shutdown must end it rather than wait for it.
  });

  it("an advertiser id with braces goes click → Kafka → tracker → Redis → lookup like any other (issue 14)", async () => {
    // The contract accepts "adv{x}"; the tracker keeps it under an encoded hash tag; the lookup finds it.
    const id = "}adv{x}";
    const path = `/v1/advertisers/${encodeURIComponent(id)}`;
    expect(
      (await call(bench.baseUrl, "PUT", `${path}/budget`, { body: { amount: "1" }, token: WRITE_TOKEN }))
        .status,
    ).toBe(200);
    const clicked = await call<{ accepted: string[] }>(bench.baseUrl, "POST", "/v1/clicks", {
      body: [{ ...click("braces-1", "0.25"), advertiser_id: id }],
      token: WRITE_TOKEN,
    });
    expect(clicked.body.accepted).toEqual(["braces-1"]);
    await expect
      .poll(
        async () =>
          (await call<Serving>(bench.baseUrl, "GET", `${path}/serving`, { token: READ_TOKEN })).body,
        { timeout: 20_000, interval: 100 },
      )
      .toMatchObject({
        known: true,
        can_serve: true,
        clicks: 1,
        net_micros: 250_000,
        budget_micros: 1_000_000,
      });
    expect(await bench.redis.hget(`${bench.prefix}adv:{%7Dadv%7Bx%7D}`, "clicks")).toBe("1");
  });

  it("caps open change streams per caller, so one token cannot take every slot", async () => {
    const capped = await startApiBench("flip-streams", {
      env: { API_MAX_STREAMS_PER_CALLER: "2" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    const open: AbortController[] = [];
    const stream = async (token: string) => {
      const controller = new AbortController();
      const response = await fetch(`${capped.baseUrl}/v1/serving/changes`, {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      if (response.status === 200) open.push(controller);
      else await response.text();
      return response;
    };
    try {
      expect((await stream(READ_TOKEN)).status).toBe(200);
      expect((await stream(READ_TOKEN)).status).toBe(200);
      const third = await stream(READ_TOKEN);
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toBe("30");
      // Another principal still gets a stream.
      expect((await stream(WRITE_TOKEN)).status).toBe(200);
      // Closing one gives the slot back.
      open.shift()?.abort();
      await expect
        .poll(async () => (await stream(READ_TOKEN)).status, { timeout: 5_000, interval: 100 })
        .toBe(200);
    } finally {
      for (const controller of open) controller.abort();
      await capped.close();
    }
  });

  it("with the in-process serving cache, a flip is visible at once (invalidated by the changes channel)", async () => {
    const cached = await startApiBench("flip-cached", {
      env: { API_SERVING_CACHE_TTL_MS: "60000" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      const lookup = async () =>
        (await call<Serving>(cached.baseUrl, "GET", `/v1/advertisers/${ID}/serving`, { token: READ_TOKEN }))
          .body;
      // Wait until the cache's subscription is live and the entry is cached.
      await expect.poll(async () => (await lookup()).can_serve, { timeout: 10_000 }).toBe(true);
      await call(cached.baseUrl, "POST", `/v1/advertisers/${ID}/pause`, { body: {}, token: WRITE_TOKEN });
      await expect.poll(async () => (await lookup()).reason, { timeout: 2_000, interval: 20 }).toBe("paused");
      await call(cached.baseUrl, "POST", `/v1/advertisers/${ID}/resume`, { token: WRITE_TOKEN });
      await expect.poll(async () => (await lookup()).can_serve, { timeout: 2_000, interval: 20 }).toBe(true);
    } finally {
      await cached.close();
    }
  });
});
