/**
 * Redis CPU per event of the apply_slice script alone (no Kafka, no Postgres): the same generated batches are
 * applied through SpendStore.applyBatch and Redis's own accounting (INFO commandstats, cmdstat_evalsha) gives
 * the script's microseconds per call; divided by the events applied. Run it against a Redis of its own
 * (commandstats are server-wide): e.g. `redis-server --port 6390 --save '' &` then
 *
 *   REDIS_URL=redis://127.0.0.1:6390 node --conditions=source --import tsx bench/apply-slice-cost.ts \
 *     [batches=200] [advertisers=100] [clicksPerSlice=50] [duplicateShare=0.05]
 *
 * Prints `apply_slice redis cpu: <µs> µs/event, <µs> µs/call, <n> events`.
 */
import { parseEvent } from "@adpipe/core";
import { type SpendRecord, SpendStore, spendRecordOf } from "@adpipe/spend-store";
import { Redis } from "ioredis";

const [batches = 200, advertisers = 100, perSlice = 50, duplicateShare = 0.05] = process.argv
  .slice(2)
  .map(Number);
const T0 = Date.UTC(2026, 10, 25, 12);

function evalshaStats(info: string): { calls: number; usec: number } {
  const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return { calls: Number(line?.[1] ?? 0), usec: Number(line?.[2] ?? 0) };
}

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `bench:slice-${process.pid}:`;
const store = new SpendStore({ redis, topic: "bench", prefix, clock: () => T0 });
await store.loadScripts();
await store.createSentinel();

let offset = 0;
let sequence = 0;
let events = 0;
const before = evalshaStats(await redis.info("commandstats"));
for (let b = 0; b < batches; b++) {
  const records: SpendRecord[] = [];
  for (let a = 0; a < advertisers; a++) {
    for (let i = 0; i < perSlice; i++) {
      // A share of the clicks repeat an earlier click id of the same advertiser (redeliveries).
      const repeat = sequence > 0 && (sequence * 7919) % 1000 < duplicateShare * 1000;
      const clickId = repeat ? `a${a}-c${Math.floor(sequence / 2)}` : `a${a}-c${sequence}`;
      sequence++;
      const parsed = parseEvent(
        JSON.stringify({
          event_type: "ad_click",
          advertiser_id: `adv-${a}`,
          click_id: clickId,
          amount: 0.25,
          timestamp: T0,
        }),
        { referenceTimeMs: T0 },
      );
      if (!parsed.ok) throw new Error(parsed.detail);
      records.push(spendRecordOf(parsed, { partition: 0, offset, timestampMs: T0 }) as SpendRecord);
      offset++;
    }
  }
  const outcome = await store.applyBatch(records, [{ partition: 0, offset }]);
  if (outcome.status !== "applied") throw new Error(`batch ${b}: ${outcome.status}`);
  events += records.length;
}
const after = evalshaStats(await redis.info("commandstats"));
const calls = after.calls - before.calls;
const usec = after.usec - before.usec;
console.log(
  `apply_slice redis cpu: ${(usec / events).toFixed(3)} µs/event, ${(usec / calls).toFixed(1)} µs/call, ${events} events`,
);
let cursor = "0";
do {
  const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
  if (keys.length > 0) await redis.del(...keys);
  cursor = next;
} while (cursor !== "0");
await redis.quit();
