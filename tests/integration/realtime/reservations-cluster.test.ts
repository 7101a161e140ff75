import {
  advertiserKey,
  createServingClient,
  hashSlot,
  reservationsKey,
  type ServingClient,
  slotGuardKey,
  slotTagOf,
} from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteClusterPrefix, testRedisCluster, uniqueRedisPrefix } from "../../support/index.js";

// Reservations on a real Redis Cluster (scripts/redis-cluster.sh): every script stays in its advertiser's slot
// (the cluster refuses CROSSSLOT), reserveMany spans every master in one round trip per node, concurrent
// reservers never over-grant, settlement and expiry work per slot, and a slot that lost its guard fails closed.

const TOPIC = "clicks";
const BUDGET = 1_000_000;
const ADVERTISERS = Array.from({ length: 12 }, (_, i) => `cl-${i}`);
let cluster: Cluster;
let prefix: string;
let store: SpendStore;
let client: ServingClient;
let offset = 0;

beforeAll(async () => {
  cluster = await testRedisCluster();
  prefix = uniqueRedisPrefix("rt-resv-cluster");
  store = new SpendStore({ redis: cluster, topic: TOPIC, prefix });
  await store.loadScripts();
  await store.createSentinel();
  client = createServingClient({ redis: cluster, prefix, topic: TOPIC });
  const now = Date.now();
  await store.applyBatch(
    ADVERTISERS.map((advertiserId) => ({
      partition: 0,
      offset: offset++,
      timestampMs: now,
      advertiserId,
      spend: null,
      budget: { budgetMicros: BUDGET, eventTimeMs: now, source: "api", mode: "hard_cap" },
    })),
    [{ partition: 0, offset }],
  );
}, 120_000);

afterAll(async () => {
  await client?.close();
  if (cluster !== undefined) {
    await deleteClusterPrefix(cluster, prefix);
    cluster.disconnect();
  }
});

describe("reservations on a Redis Cluster", () => {
  it("32 concurrent bulk reservers over every master never over-grant any advertiser", async () => {
    const masters = new Set(ADVERTISERS.map((id) => cluster.slots[hashSlot(advertiserKey(id, prefix))]?.[0]));
    expect(masters.size).toBe(3);
    const granted = new Map<string, number>(ADVERTISERS.map((id) => [id, 0]));
    let refused = 0;
    await Promise.all(
      Array.from({ length: 32 }, async (_, lane) => {
        for (let round = 0; round < 10; round++) {
          const requests = ADVERTISERS.map((advertiserId, i) => ({
            advertiserId,
            reservationId: `l${lane}-r${round}-${i}`,
            maxCostMicros: 5_000 + ((lane * 31 + round * 7 + i) % 20) * 1_000,
            ttlMs: 60_000,
          }));
          const answers = await client.reserveMany(requests);
          answers.forEach((answer, i) => {
            const request = requests[i] as (typeof requests)[number];
            if (answer.granted) {
              granted.set(
                request.advertiserId,
                (granted.get(request.advertiserId) ?? 0) + request.maxCostMicros,
              );
            } else {
              expect(answer.reason).toBe("insufficient_budget");
              refused++;
            }
          });
        }
      }),
    );
    expect(refused).toBeGreaterThan(0);
    for (const id of ADVERTISERS) {
      const total = granted.get(id) ?? 0;
      expect(total).toBeLessThanOrEqual(BUDGET);
      expect(total).toBeGreaterThan(BUDGET - 25_000);
      expect(Number(await cluster.hget(advertiserKey(id, prefix), "reserved_micros"))).toBe(total);
    }
  });

  it("settles in apply_slice and expires by the watermark, slot by slot", async () => {
    const id = ADVERTISERS[0] as string;
    const [reservationId] = await cluster.hkeys(reservationsKey(id, prefix));
    const cost = Number(await cluster.hget(reservationsKey(id, prefix), reservationId as string));
    const before = Number(await cluster.hget(advertiserKey(id, prefix), "reserved_micros"));
    await store.applyBatch(
      [
        {
          partition: 0,
          offset: offset++,
          timestampMs: Date.now(),
          advertiserId: id,
          spend: {
            eventTimeMs: Date.now(),
            dedupKey: reservationId as string,
            grossMicros: 1,
            netMicros: 1,
            clicks: 1,
          },
          budget: null,
        },
      ],
      [{ partition: 0, offset }],
    );
    expect(Number(await cluster.hget(advertiserKey(id, prefix), "reserved_micros"))).toBe(before - cost);

    // A watermark before every expiry releases nothing; one after all of them releases every reservation.
    expect((await store.expireReservations(Date.now() - 1_000)).expired).toBe(0);
    const outcome = await store.expireReservations(Date.now() + 120_000);
    expect(outcome.advertisers).toBe(ADVERTISERS.length);
    expect(outcome.expired).toBeGreaterThan(0);
    for (const advertiser of ADVERTISERS) {
      expect(await cluster.hget(advertiserKey(advertiser, prefix), "reserved_micros")).toBe("0");
      expect(await cluster.exists(reservationsKey(advertiser, prefix))).toBe(0);
    }
  });

  it("fails closed (unavailable) for an advertiser whose slot lost its guard", async () => {
    const id = ADVERTISERS[1] as string;
    const guard = slotGuardKey(prefix, slotTagOf(advertiserKey(id, prefix)));
    const epoch = await cluster.hget(guard, "epoch");
    await cluster.del(guard);
    try {
      expect(
        await client.reserve({ advertiserId: id, reservationId: "lost", maxCostMicros: 1, ttlMs: 1_000 }),
      ).toEqual({
        granted: false,
        reason: "unavailable",
        remainingMicros: null,
      });
      const other = ADVERTISERS.find(
        (candidate) => slotGuardKey(prefix, slotTagOf(advertiserKey(candidate, prefix))) !== guard,
      ) as string;
      expect(
        (await client.reserve({ advertiserId: other, reservationId: "ok", maxCostMicros: 1, ttlMs: 1_000 }))
          .granted,
      ).toBe(true);
    } finally {
      await cluster.hset(guard, "epoch", epoch as string);
    }
  });
});
