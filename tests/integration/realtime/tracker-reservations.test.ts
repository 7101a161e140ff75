import {
  loadTrackerConfig,
  ReservationExpiry,
  startTrackerService,
  TrackerMetrics,
  type TrackerService,
} from "@adpipe/budget-tracker";
import {
  advertiserKey,
  createServingClient,
  reservationsKey,
  type ServingClient,
} from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import { createMetricsRegistry, silentLogger } from "@adpipe/telemetry";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestTopic,
  deleteRedisPrefix,
  type TestTopic,
  testRedis,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { eventually, produceRecords, trackerEnv, waitCaughtUp } from "./support/harness.js";

// Reservations through the real tracker and Kafka: a click settles its reservation exactly once, and
// reservations expire by the event-time watermark the tracker has applied, never by the wall clock.

const ADVERTISER = "resv-adv";
let topic: TestTopic;
let redis: Redis;
let prefix: string;
let env: Record<string, string>;
let service: TrackerService | undefined;
let reader: SpendStore;
let client: ServingClient;

async function startTracker(): Promise<TrackerService> {
  return startTrackerService(loadTrackerConfig(env));
}

function event(fields: Record<string, unknown>, timestampMs = Date.now()) {
  return {
    key: ADVERTISER,
    value: new TextEncoder().encode(
      JSON.stringify({
        advertiser_id: ADVERTISER,
        timestamp: new Date(timestampMs).toISOString(),
        ...fields,
      }),
    ),
    timestampMs,
  };
}

function click(clickId: string, amount: number, reservationId?: string) {
  return event({
    event_type: "ad_click",
    click_id: clickId,
    amount,
    ...(reservationId === undefined ? {} : { reservation_id: reservationId }),
  });
}

async function state(): Promise<{ reserved: number; net: number; outstanding: string[] }> {
  const [reserved, net] = await redis.hmget(
    advertiserKey(ADVERTISER, prefix),
    "reserved_micros",
    "net_micros",
  );
  return {
    reserved: Number(reserved ?? 0),
    net: Number(net ?? 0),
    outstanding: (await redis.hkeys(reservationsKey(ADVERTISER, prefix))).sort(),
  };
}

beforeAll(async () => {
  topic = await createTestTopic("rt-reservations", 2);
  redis = testRedis();
  prefix = uniqueRedisPrefix("rt-resv");
  env = trackerEnv({ topic: topic.topic, prefix, extra: { RESERVATION_SWEEP_INTERVAL_MS: "100" } });
  service = await startTracker();
  reader = new SpendStore({ redis, topic: topic.topic, prefix });
  client = createServingClient({ redis, prefix, topic: topic.topic });
  await produceRecords(topic.kafka, topic.topic, [
    event({ event_type: "budget_update", budget_value: 10, budget_mode: "hard_cap", budget_source: "api" }),
  ]);
  await waitCaughtUp(reader, topic.kafka, topic.topic);
});

afterAll(async () => {
  await client?.close();
  await service?.stop();
  await topic?.delete();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
});

describe("reservations through the tracker", () => {
  it("settles a click's reservation exactly once, in the apply that bills the click", async () => {
    const reserve = (reservationId: string, maxCostMicros: number) =>
      client.reserve({ advertiserId: ADVERTISER, reservationId, maxCostMicros, ttlMs: 60_000 });
    expect((await reserve("c-1", 4_000_000)).granted).toBe(true);
    expect((await reserve("r-2", 5_000_000)).granted).toBe(true);
    expect((await reserve("c-3", 2_000_000)).reason).toBe("insufficient_budget");

    // c-1 settles by its click_id; the click of r-2 names it; the duplicate of c-1 settles nothing.
    await produceRecords(topic.kafka, topic.topic, [
      click("c-1", 3.5),
      click("c-2", 5, "r-2"),
      click("c-1", 3.5),
    ]);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    expect(await state()).toEqual({ reserved: 0, net: 8_500_000, outstanding: [] });
    expect((await reserve("c-3", 1_500_000)).granted).toBe(true);
    expect((await reserve("c-4", 1)).reason).toBe("insufficient_budget");
    await produceRecords(topic.kafka, topic.topic, [click("c-3", 1.5)]);
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    expect(await state()).toEqual({ reserved: 0, net: 10_000_000, outstanding: [] });
    const hash = await redis.hmget(
      advertiserKey(ADVERTISER, prefix),
      "over_cap_micros",
      "can_serve",
      "reason",
    );
    expect(hash).toEqual([null, "0", "budget_exhausted"]);
  });

  it("expires by the applied watermark: not while the tracker is stopped with the click in the log", async () => {
    // A fresh budget: raise it so reservations are granted again.
    await produceRecords(topic.kafka, topic.topic, [
      event({ event_type: "budget_update", budget_value: 20, budget_mode: "hard_cap", budget_source: "api" }),
    ]);
    await waitCaughtUp(reader, topic.kafka, topic.topic);

    // With the tracker caught up, a short reservation whose click never comes expires soon after its TTL.
    expect(
      (
        await client.reserve({
          advertiserId: ADVERTISER,
          reservationId: "gone",
          maxCostMicros: 1_000,
          ttlMs: 200,
        })
      ).granted,
    ).toBe(true);
    await eventually(
      "the unused reservation expired",
      async () => (await state()).outstanding.length === 0,
      15_000,
    );
    expect((await state()).reserved).toBe(0);

    // Stop the tracker; reserve with a short TTL; the click reaches the log within the TTL but is not applied.
    await service?.stop();
    service = undefined;
    expect(
      (
        await client.reserve({
          advertiserId: ADVERTISER,
          reservationId: "late",
          maxCostMicros: 2_000_000,
          ttlMs: 300,
        })
      ).granted,
    ).toBe(true);
    await produceRecords(topic.kafka, topic.topic, [click("late", 2)]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The wall-clock TTL has passed. A sweep (as any replica runs it) judges by the log: the click waits, the
    // watermark stays behind, nothing is released.
    const expiry = new ReservationExpiry({
      kafka: topic.kafka,
      topic: topic.topic,
      store: reader,
      logger: silentLogger,
      metrics: new TrackerMetrics(createMetricsRegistry("reservations-test")),
      busy: () => false,
    });
    try {
      await expiry.sweep();
      await expiry.sweep();
    } finally {
      await expiry.close();
    }
    expect(await state()).toEqual({ reserved: 2_000_000, net: 10_000_000, outstanding: ["late"] });

    // Restarted, the tracker applies the click, which settles the reservation (once) and bills it.
    service = await startTracker();
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    expect(await state()).toEqual({ reserved: 0, net: 12_000_000, outstanding: [] });
  });
});
