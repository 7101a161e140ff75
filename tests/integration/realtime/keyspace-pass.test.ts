import { hashSlot } from "@adpipe/serving-client";
import { JOB_CHUNK, type SnapshotAdvertiser, SpendStore } from "@adpipe/spend-store";
import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deleteClusterPrefix,
  deleteRedisPrefix,
  testRedis,
  testRedisCluster,
  uniqueRedisPrefix,
} from "../../support/index.js";

// The periodic jobs' one shared SCAN pass (keyspace-pass.ts) against real Redis and the real Redis Cluster: every
// job sees every advertiser of one pass, on every master; a restore, a wipe or a rebuild is never hidden by a
// pass from before it; the rollover lists anew; and a loss under a stale pass is still detected by the guards.

const NOW = Date.UTC(2026, 4, 4, 12);
const HOUR = 3_600_000;
/** Longer than any test: every pass is reused unless the store drops it. */
const REUSE_MS = HOUR;

function advertiser(id: string, pacing: "shaped" | null = null): SnapshotAdvertiser {
  return {
    advertiserId: id,
    netMicros: 1_000,
    grossMicros: 1_000,
    clicks: 1,
    budgetMicros: 1_000_000,
    budgetEventTimeMs: NOW - HOUR,
    budgetSource: "api",
    pacing,
    pacingEventTimeMs: pacing === null ? null : NOW - HOUR,
    clickIds: [],
  };
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

async function restoreAll(store: SpendStore, advertisers: readonly SnapshotAdvertiser[]): Promise<void> {
  await store.restore({ period: store.currentPeriod(), advertisers, offsets: [] });
}

/** One outstanding reservation, expired long ago, as reserve.lua leaves it (resv + resvexp + reserved_micros). */
async function reserve(redis: Redis | Cluster, store: SpendStore, id: string): Promise<void> {
  await redis.hset(store.keys.reservations(id), "r1", "100");
  await redis.zadd(store.keys.reservationExpiries(id), NOW - HOUR, "r1");
  await redis.hincrby(store.keys.advertiser(id), "reserved_micros", 100);
}

describe("shared SCAN pass on one Redis server", () => {
  let redis: Redis;
  let prefix: string;
  let store: SpendStore;

  beforeAll(async () => {
    redis = testRedis();
    prefix = uniqueRedisPrefix("rt-kpass");
    store = new SpendStore({ redis, prefix, topic: "clicks", clock: () => NOW, scanReuseMs: REUSE_MS });
    await store.loadScripts();
    await store.createSentinel();
  });

  afterAll(async () => {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  });

  it("feeds every periodic job from one pass, each advertiser once", async () => {
    const all = ids("a", 40);
    await restoreAll(store, [
      ...all.slice(0, 35).map((id) => advertiser(id)),
      ...all.slice(35).map((id) => advertiser(id, "shaped")),
    ]);
    for (const id of all.slice(0, 3)) await reserve(redis, store, id);
    const before = store.keyspacePassStats();

    expect((await store.refreshForecasts()).scanned).toBe(40);
    expect((await store.sweep()).scanned).toBe(40);
    expect((await store.refreshShapes(async () => new Map())).shaped).toBe(5);
    const expiry = await store.expireReservations(NOW);
    expect(expiry).toEqual({ advertisers: 3, expired: 3, releasedMicros: 300 });

    const after = store.keyspacePassStats();
    expect(after.passes - before.passes).toBe(1);
    expect(after.scanCalls - before.scanCalls).toBeGreaterThan(0);
  });

  it("covers every advertiser when the jobs need several chunks", async () => {
    const many = ids("m", 2 * JOB_CHUNK + 7);
    await restoreAll(store, [
      ...many.slice(0, -5).map((id) => advertiser(id)),
      ...many.slice(-5).map((id) => advertiser(id, "shaped")),
    ]);
    for (const id of [many[0], many[JOB_CHUNK], many.at(-1)] as string[]) await reserve(redis, store, id);

    expect((await store.sweep(true)).scanned).toBe(many.length);
    expect((await store.refreshForecasts()).scanned).toBe(many.length);
    expect((await store.refreshShapes(async () => new Map())).shaped).toBe(5);
    expect(await store.expireReservations(NOW)).toEqual({ advertisers: 3, expired: 3, releasedMicros: 300 });
    // The restores of the next tests replace these advertisers.
    await store.wipe();
    await store.createSentinel();
  });

  it("never hides the advertisers of a restore behind a pass from before it", async () => {
    await store.sweep();
    const passes = store.keyspacePassStats().passes;
    await restoreAll(
      store,
      [...ids("a", 40), "restored-late"].map((id) => advertiser(id)),
    );
    const swept = await store.sweep();
    expect(swept.scanned).toBe(41);
    expect((await store.refreshForecasts()).scanned).toBe(41);
    expect(store.keyspacePassStats().passes).toBeGreaterThan(passes);
  });

  it("reuses the pass for later jobs, and the rollover sweep lists anew", async () => {
    await store.sweep();
    // A hash created after the pass (a batch, another instance, an operator): the shared pass predates it...
    await store.setPaused("created-after", true);
    expect(await redis.exists(store.keys.advertiser("created-after"))).toBe(1);
    expect((await store.sweep()).scanned).toBe(41);
    // ...the rollover (freshListing) scans now, and shares that pass with the jobs after it.
    expect((await store.sweep(true)).scanned).toBe(42);
    expect((await store.refreshForecasts()).scanned).toBe(42);
  });

  it("after a loss under a stale pass, refuses to write and drops the sentinel instead of recreating hashes", async () => {
    await store.sweep();
    // Redis lost the state (FLUSH of this prefix) while the pass still lists the advertisers.
    await deleteRedisPrefix(redis, prefix);
    const swept = await store.sweep();
    expect(swept.epochChanged).toBe(true);
    expect(await redis.exists(store.keys.advertiser("a0"))).toBe(0);
    expect(await store.readMeta()).toBeNull();
    // The rebuild restores; the jobs then list the rebuilt keyspace.
    await restoreAll(
      store,
      ids("b", 7).map((id) => advertiser(id)),
    );
    expect((await store.refreshForecasts()).scanned).toBe(7);
    expect((await store.sweep()).scanned).toBe(7);
  });

  it("wipe drops the pass", async () => {
    await store.sweep();
    await store.wipe();
    await store.createSentinel();
    expect((await store.refreshForecasts()).scanned).toBe(0);
  });
});

describe("shared SCAN pass on a Redis Cluster", () => {
  let cluster: Cluster;
  let prefix: string;
  let store: SpendStore;

  beforeAll(async () => {
    cluster = await testRedisCluster();
    prefix = uniqueRedisPrefix("rt-kpass-cluster");
    store = new SpendStore({
      redis: cluster,
      prefix,
      topic: "clicks",
      clock: () => NOW,
      scanReuseMs: REUSE_MS,
    });
    await store.loadScripts();
    await store.createSentinel();
  });

  afterAll(async () => {
    await deleteClusterPrefix(cluster, prefix);
    cluster?.disconnect();
  });

  it("lists the advertisers of every master in one pass that every job shares", async () => {
    const all = ids("c", 60);
    await restoreAll(
      store,
      all.map((id) => advertiser(id)),
    );
    const masters = new Set(all.map((id) => cluster.slots[hashSlot(store.keys.advertiser(id))]?.[0]));
    expect(masters.size).toBe(cluster.nodes("master").length);
    for (const id of all.slice(0, 6)) await reserve(cluster, store, id);
    const before = store.keyspacePassStats();

    expect((await store.sweep()).scanned).toBe(60);
    expect((await store.refreshForecasts()).scanned).toBe(60);
    expect((await store.expireReservations(NOW)).expired).toBe(6);

    const after = store.keyspacePassStats();
    expect(after.passes - before.passes).toBe(1);
    // At least one SCAN call per master.
    expect(after.scanCalls - before.scanCalls).toBeGreaterThanOrEqual(masters.size);
  });

  it("sees an advertiser restored onto any master after the pass", async () => {
    await store.sweep();
    const late = ids("late", 9);
    await restoreAll(
      store,
      [...ids("c", 60), ...late].map((id) => advertiser(id)),
    );
    expect((await store.sweep()).scanned).toBe(69);
    expect((await store.refreshForecasts()).scanned).toBe(69);
  });
});
