/**
 * What one pacing sweep (SpendStore.sweep(), the tracker's every PACING_CHECK_INTERVAL_MS) costs with
 * `advertisers` hashes of which `pacedShare` pace evenly: wall time per sweep, Redis CPU per sweep (INFO cpu of
 * the server, so run it against a Redis of its own) and the script calls it made (INFO commandstats). E.g.
 * `redis-server --port 6391 --save '' &` then
 *
 *   REDIS_URL=redis://127.0.0.1:6391 node --conditions=source --import tsx bench/pacing-sweep-cost.ts \
 *     [advertisers=5000] [pacedShare=0] [sweeps=20]
 *
 * Prints `pacing sweep: <ms> ms, redis cpu <ms> ms, <n> apply_slice calls per sweep (<advertisers> hashes)`.
 */
import type { PacingMode } from "@adpipe/core";
import { type SpendRecord, SpendStore } from "@adpipe/spend-store";
import { Redis } from "ioredis";
import { deletePrefix } from "./lib/infra.js";

const [advertisers = 5_000, pacedShare = 0, sweeps = 20] = process.argv.slice(2).map(Number);
const T0 = Date.UTC(2026, 11, 6, 6);

function redisCpuMs(info: string): number {
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (sys + user) * 1_000;
}

function evalshaCalls(info: string): number {
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `bench:pacing-sweep-${process.pid}:`;
let clock = T0;
const store = new SpendStore({ redis, topic: "bench", prefix, clock: () => clock });
try {
  await store.loadScripts();
  await store.createSentinel();
  const records: SpendRecord[] = [];
  for (let a = 0; a < advertisers; a++) {
    const pacing: PacingMode | null = a < advertisers * pacedShare ? "even" : null;
    records.push({
      partition: 0,
      offset: a,
      timestampMs: T0,
      advertiserId: `adv-${a}`,
      spend: null,
      budget: {
        budgetMicros: 100_000_000,
        eventTimeMs: T0,
        source: "budget_update",
        mode: "observe",
        ...(pacing === null ? {} : { pacing }),
      },
    });
  }
  for (let from = 0; from < records.length; from += 1_000)
    await store.applyBatch(records.slice(from, from + 1_000), [
      { partition: 0, offset: Math.min(from + 1_000, records.length) },
    ]);
  await store.sweep(); // warm-up: the first listing
  const wallMs: number[] = [];
  const cpuBefore = redisCpuMs(await redis.info("cpu"));
  const callsBefore = evalshaCalls(await redis.info("commandstats"));
  for (let i = 0; i < sweeps; i++) {
    clock += 5_000; // the next pacing check, within the same day
    const started = performance.now();
    await store.sweep();
    wallMs.push(performance.now() - started);
  }
  const cpuMs = (redisCpuMs(await redis.info("cpu")) - cpuBefore) / sweeps;
  const calls = (evalshaCalls(await redis.info("commandstats")) - callsBefore) / sweeps;
  wallMs.sort((x, y) => x - y);
  const median = wallMs[Math.floor(wallMs.length / 2)] ?? Number.NaN;
  console.log(
    `pacing sweep: ${median.toFixed(1)} ms, redis cpu ${cpuMs.toFixed(1)} ms, ${Math.round(calls)} apply_slice calls per sweep (${advertisers} hashes, ${Math.round(advertisers * pacedShare)} paced)`,
  );
} finally {
  await deletePrefix(redis, prefix);
  redis.disconnect();
}
