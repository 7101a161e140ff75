import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { createServingClient, hashSlot } from "@adpipe/serving-client";
import { HASH_SLOTS, SpendStore, slotTagOf } from "@adpipe/spend-store";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as registerRebuild } from "../../../packages/cli/src/commands/rebuild-redis.js";
import { register as registerStatus } from "../../../packages/cli/src/commands/status.js";
import { buildProgram, runProgram } from "../../../packages/cli/src/program.js";
import {
  deleteClusterPrefix,
  redisClusterNodes,
  testRedisCluster,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { call, READ_TOKEN, startApiBench } from "../api/harness.js";
import { produceRecords, trackerEnv, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { generated, type PlacedRecord, placeRecords, toSpendRecords } from "./support/stream.js";

// The real-time path on a real Redis Cluster (3 masters + 3 replicas, scripts/redis-cluster.sh): every Lua call
// stays in one slot, batches spanning every node are exact against the oracle, and a slot that lost its data is
// refused and rebuilt rather than written into.

let cluster: Cluster;
const prefixes: string[] = [];

function newStore(clock: () => number, topic = "clicks"): SpendStore {
  const prefix = uniqueRedisPrefix("rt-cluster");
  prefixes.push(prefix);
  return new SpendStore({ redis: cluster, topic, prefix, clock });
}

function masterOf(key: string): string {
  return cluster.slots[hashSlot(key)]?.[0] ?? "unknown";
}

async function countKeys(pattern: string): Promise<number> {
  let count = 0;
  for (const node of cluster.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 2000);
      cursor = next;
      count += keys.length;
    } while (cursor !== "0");
  }
  return count;
}

function batches(records: readonly PlacedRecord[], size: number): PlacedRecord[][] {
  const out: PlacedRecord[][] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}

beforeAll(async () => {
  cluster = await testRedisCluster();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteClusterPrefix(cluster, prefix);
  cluster?.disconnect();
});

describe("SpendStore on a Redis Cluster", () => {
  it("applies batches spanning every master exactly, to the micro-unit of the oracle, replays included", async () => {
    // A third of the advertisers in hard_cap, with budgets they spend within the stream: the clamp bites.
    const stream = placeRecords(
      generated({
        seed: 31,
        events: 4_000,
        advertisers: 40,
        hardCapShare: 0.3,
        budgetMicros: { min: 1_000_000, max: 60_000_000 },
      }),
      3,
    );
    const oracle = new Oracle();
    let now = stream[0]?.timestampMs ?? 0;
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    expect(await countKeys(store.keys.patterns.guard)).toBe(HASH_SLOTS);

    let replayed = 0;
    for (const [i, batch] of batches(stream, 97).entries()) {
      for (const record of batch) oracle.observe(record);
      now = batch.at(-1)?.timestampMs ?? now;
      const { records, progress } = toSpendRecords(batch);
      expect((await store.applyBatch(records, progress)).status).toBe("applied");
      if (i % 5 === 0) {
        const again = await store.applyBatch(records, progress);
        expect(again.applied).toBe(0);
        replayed += again.replayed;
      }
    }
    expect(replayed).toBeGreaterThan(0);
    const states = await store.readStates();
    const expected = oracle.servingStateAt(now);
    expect(diffAgainstOracle(states, expected)).toEqual([]);
    expect(expected.length).toBeGreaterThan(30);
    expect(expected.some((state) => state.mode === "hard_cap" && state.overCapMicros > 0)).toBe(true);
    // The advertisers really are spread: every master holds some of them.
    const masters = new Set([...states.keys()].map((id) => masterOf(store.keys.advertiser(id))));
    expect(masters.size).toBe(3);

    // The serving client reads them across the nodes in one call, as stored.
    const serving = createServingClient({ redis: cluster, prefix: store.keys.prefix });
    const answers = await serving.getMany([...states.keys(), "never-seen"]);
    for (const [id, state] of states) {
      expect(answers.get(id)).toMatchObject({ canServe: state.canServe, netMicros: state.netMicros });
    }
    expect(answers.get("never-seen")).toBeNull();
    await serving.close();
  });

  it("the topic's scripts run in its one slot: reset detection, reset of positions, the rebuild lock", async () => {
    const store = newStore(Date.now);
    await store.loadScripts();
    await store.createSentinel();
    const detection = {
      detectedAtMs: Date.now(),
      partitions: [
        {
          partition: 0,
          storedOffset: "9",
          logStartOffset: "0",
          logEndOffset: "2",
          reason: "offset_beyond_log_end",
        },
      ],
    };
    expect(await store.recordResetDetection(detection, 0)).toBe(true);
    expect((await store.readMeta())?.resetDetected).toEqual(detection);
    const positions = [{ partition: 0, offset: 2 }];
    const step = { fromGeneration: 0, toGeneration: 1, resetId: "r1", positions };
    expect(await store.resetPositions(step)).toBe("moved");
    expect(await store.resetPositions(step)).toBe("already_moved");
    expect(await store.readMeta()).toMatchObject({ generation: 1, offsets: positions, resetDetected: null });
    const lock = await store.acquireRebuildLock();
    expect(lock).not.toBeNull();
    expect(await store.acquireRebuildLock()).toBeNull();
    await lock?.release();
    expect(await store.isRebuildLocked()).toBe(false);
  });

  it("a slot that lost its data (guard and keys gone, as after a node restarted empty) is never written into", async () => {
    const stream = placeRecords(generated({ seed: 32, events: 600, advertisers: 12 }), 2);
    let now = stream[0]?.timestampMs ?? 0;
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    const [first, second] = batches(stream, 300);
    if (first === undefined || second === undefined) throw new Error("the stream is too short");
    now = first.at(-1)?.timestampMs ?? now;
    const one = toSpendRecords(first);
    expect((await store.applyBatch(one.records, one.progress)).status).toBe("applied");

    // The slot of one advertiser with spend in the next batch loses everything: its guard and the advertiser's keys.
    const two = toSpendRecords(second);
    const victim = two.records.find((record) => record.spend !== null)?.advertiserId;
    if (victim === undefined) throw new Error("no spend in the second batch");
    const victimKey = store.keys.advertiser(victim);
    await cluster.del(store.keys.slotGuard(slotTagOf(victimKey)));
    await cluster.del(victimKey, store.keys.pending(victim));
    const metaBefore = await store.readMeta();
    expect(metaBefore).not.toBeNull();

    now = second.at(-1)?.timestampMs ?? now;
    const outcome = await store.applyBatch(two.records, two.progress);
    expect(outcome.status).toBe("state_lost");
    // Nothing was created in the emptied slot, the offsets did not move, and the whole state now reads as lost
    // (every replica and `adpipe status` see it; the tracker rebuilds).
    expect(await cluster.exists(victimKey)).toBe(0);
    expect(await store.readMeta()).toBeNull();
    const offsets = await cluster.hgetall(store.keys.meta(store.topic));
    const recorded = Object.entries(offsets)
      .filter(([field]) => field.startsWith("o:"))
      .map(([field, value]) => ({ partition: Number(field.slice(2)), offset: Number(value) }))
      .sort((a, b) => a.partition - b.partition);
    expect(recorded).toEqual(metaBefore?.offsets);

    // A restore writes every guard again with its new epoch; writing works again, the old epoch is refused.
    const oldEpoch = store.epoch;
    const restored = await store.restore({ period: store.currentPeriod(), advertisers: [], offsets: [] });
    expect(restored.epoch).toBeGreaterThan(oldEpoch ?? 0);
    expect(await countKeys(store.keys.patterns.guard)).toBe(HASH_SLOTS);
    // A tracker that missed the restore still writes with the old epoch.
    const stale = new SpendStore({
      redis: cluster,
      topic: store.topic,
      prefix: store.keys.prefix,
      clock: () => now,
    });
    if (metaBefore === null) throw new Error("unreachable: checked above");
    stale.adopt(metaBefore);
    expect((await stale.applyBatch(two.records, two.progress)).status).toBe("epoch_changed");
    expect((await store.applyBatch(two.records, two.progress)).status).toBe("applied");
    expect(await cluster.exists(victimKey)).toBe(1);
  });
});

/** Runs one `adpipe` command in process with these variables; its exit code and what it printed. */
async function adpipe(env: Record<string, string>, args: string[]): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  delete process.env.REDIS_URL;
  const printed: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => {
    printed.push(parts.map(String).join(" "));
  });
  try {
    const code = await runProgram(buildProgram([registerRebuild, registerStatus]), [
      "node",
      "adpipe",
      ...args,
    ]);
    return { code, out: printed.join("\n") };
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
}

describe("budget-tracker, API and CLI on a Redis Cluster (REDIS_CLUSTER_NODES)", () => {
  let tracker: TrackerService | undefined;
  let bench: Awaited<ReturnType<typeof startApiBench>> | undefined;

  afterAll(async () => {
    await tracker?.stop();
    if (bench !== undefined) {
      prefixes.push(bench.prefix);
      await bench.close();
    }
  });

  it("the tracker applies a stream, the API serves it, status and rebuild-redis work, all equal to the oracle", async () => {
    const nodes = redisClusterNodes();
    bench = await startApiBench("redis-cluster", { env: { REDIS_CLUSTER_NODES: nodes } });
    const stream = generated({ seed: 33, events: 3_000, advertisers: 20 });
    const now = stream.at(-1)?.timestampMs ?? 0;
    const env = trackerEnv({ topic: bench.topic.topic, prefix: bench.prefix });
    delete env.REDIS_URL;
    tracker = await startTrackerService(loadTrackerConfig({ ...env, REDIS_CLUSTER_NODES: nodes }), {
      clock: () => now,
    });
    await produceRecords(bench.topic.kafka, bench.topic.topic, stream);
    const reader = new SpendStore({ redis: cluster, topic: bench.topic.topic, prefix: bench.prefix });
    await waitCaughtUp(reader, bench.topic.kafka, bench.topic.topic);

    const expected = new Oracle().observeAll(stream).servingStateAt(now);
    const states = await reader.readStates();
    expect(diffAgainstOracle(states, expected)).toEqual([]);
    expect(states.size).toBeGreaterThan(10);
    const ids = [...states.keys()];
    const response = await call<{
      results: { advertiser_id: string; can_serve: boolean; net_micros: number }[];
    }>(bench.baseUrl, "POST", "/v1/serving:batch", { token: READ_TOKEN, body: { ids } });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r) => [r.advertiser_id, r.can_serve, r.net_micros])).toEqual(
      [...states.values()].map((state) => [state.advertiserId, state.canServe, state.netMicros]),
    );

    // `adpipe status` reads the tracker's positions from the cluster.
    const cliEnv = {
      REDIS_CLUSTER_NODES: nodes,
      REDIS_KEY_PREFIX: bench.prefix,
      KAFKA_BROKERS: env.KAFKA_BROKERS ?? "",
      KAFKA_TOPIC: bench.topic.topic,
      DATABASE_URL: bench.db.adminUrl,
      TRACKER_GROUP_ID: env.TRACKER_GROUP_ID ?? "",
    };
    const status = await adpipe(cliEnv, ["status", "--json", "--group", env.TRACKER_GROUP_ID ?? ""]);
    const report = JSON.parse(status.out) as {
      kafka: { groups: { group: string; source: string; totalLag: string }[] };
    };
    expect(report.kafka.groups).toEqual([
      expect.objectContaining({ group: env.TRACKER_GROUP_ID, source: "redis", totalLag: "0" }),
    ]);

    // `adpipe rebuild-redis --source replay` while the tracker runs: it adopts the new epoch, reads the topic
    // again from the start and ends exact once more.
    const rebuild = await adpipe(cliEnv, ["rebuild-redis", "--source", "replay", "--wait-lock", "10000"]);
    expect(rebuild.code).toBe(0);
    const rebuilt = await reader.readMeta();
    expect(rebuilt?.offsets.every(({ offset }) => offset === 0)).toBe(true);
    await waitCaughtUp(reader, bench.topic.kafka, bench.topic.topic);
    expect(diffAgainstOracle(await reader.readStates(), expected)).toEqual([]);
  });
});
