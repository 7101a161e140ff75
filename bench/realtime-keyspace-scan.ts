/**
 * SCAN cost of the tracker's periodic jobs per 10 s at the default intervals, for N advertisers:
 *
 *   before  each job scanned on its own: pacing sweep every 5 s + forecast refresh every 10 s (advertiser hashes)
 *           + reservation sweep every 1 s (reservation expiries) = 13 passes over the whole keyspace;
 *   after   the shared pass (keyspace-pass.ts): one pass per KEYSPACE_SCAN_REUSE_MS, 10 at its default (1 s,
 *           the shortest job interval), 2 at 5 s;
 *   index   the alternative not built: an index set of advertiser ids kept by the scripts, read by SSCAN
 *           (one set on one server; on a cluster one per slot: 16,384 keys, read with pipelined SSCANs).
 *
 * Keys per advertiser: its hash, one dedup set, and for 1 % a reservation + expiries key, under a private prefix
 * (deleted after). Runs before/after/index alternated, `rounds` times; prints the SCAN/SSCAN calls, the wall time
 * and Redis's own time for them (INFO commandstats deltas). SCAN walks every key of the server, so other tenants
 * of a shared Redis add to the time, and their SCANs to the Redis time (quote results as noisy).
 *
 *   node --conditions=source --import tsx bench/realtime-keyspace-scan.ts [advertisers=100000] [rounds=3] [cluster]
 */
import { randomBytes } from "node:crypto";
import { KeyspacePass, slotTagOf, spendKeys } from "@adpipe/spend-store";
import { Cluster, Redis } from "ioredis";

const advertisers = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);
const clustered = process.argv[4] === "cluster";
const prefix = `bench:kscan-${randomBytes(4).toString("hex")}:`;
const keys = spendKeys(prefix);

const redis: Redis | Cluster = clustered
  ? new Cluster([{ host: "127.0.0.1", port: 7000 }], { scaleReads: "master" })
  : new Redis({ host: "127.0.0.1", port: 6379 });

function masters(): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/** A whole-keyspace SCAN for `pattern` as scanKeys does it (COUNT 500, the jobs' old chunk); SCAN calls made. */
async function scanPass(pattern: string, count: number): Promise<number> {
  let calls = 0;
  for (const node of masters()) {
    let cursor = "0";
    do {
      const [next] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      calls++;
      cursor = next;
    } while (cursor !== "0");
  }
  return calls;
}

function indexKey(tag: string): string {
  return `${prefix}idx:${tag}`;
}

async function fill(): Promise<void> {
  const chunk = 1_000;
  for (let from = 0; from < advertisers; from += chunk) {
    const writes: Promise<unknown>[] = [];
    for (let a = from; a < Math.min(advertisers, from + chunk); a++) {
      const id = `adv-${a}`;
      const key = keys.advertiser(id);
      writes.push(redis.hset(key, "period", "2026-12-06", "net_micros", "1"));
      writes.push(redis.sadd(keys.dedup(id, "2026-12-06"), `c${a}`));
      if (a % 100 === 0) writes.push(redis.zadd(keys.reservationExpiries(id), 1, "r"));
      writes.push(redis.sadd(indexKey(clustered ? slotTagOf(key) : "{all}"), id));
    }
    await Promise.all(writes);
  }
}

async function readIndex(): Promise<number> {
  // One server: the one set. A cluster: the set of each slot, pipelined per node (ioredis groups them).
  const tags = clustered
    ? [...new Set(Array.from({ length: advertisers }, (_, a) => slotTagOf(keys.advertiser(`adv-${a}`))))]
    : ["{all}"];
  let calls = 0;
  let pending = tags.map((tag) => ({ key: indexKey(tag), cursor: "0" }));
  while (pending.length > 0) {
    const replies = await Promise.all(pending.map((p) => redis.sscan(p.key, p.cursor, "COUNT", 1_000)));
    calls += pending.length;
    pending = pending
      .map((p, i) => ({ key: p.key, cursor: replies[i]?.[0] ?? "0" }))
      .filter((p) => p.cursor !== "0");
  }
  return calls;
}

/** Server-side time of SCAN and SSCAN summed over the masters (INFO commandstats; other clients' calls too). */
async function serverUsec(): Promise<number> {
  let usec = 0;
  for (const node of masters()) {
    const info = await node.info("commandstats");
    for (const match of info.matchAll(/cmdstat_s?scan:calls=\d+,usec=(\d+)/g)) usec += Number(match[1]);
  }
  return usec;
}

async function timed(run: () => Promise<number>): Promise<{ ms: number; calls: number; serverMs: number }> {
  const start = performance.now();
  const usec = await serverUsec();
  const calls = await run();
  return { ms: performance.now() - start, calls, serverMs: ((await serverUsec()) - usec) / 1000 };
}

async function cleanup(): Promise<void> {
  for (const node of masters()) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
      cursor = next;
      if (found.length > 0) await node.unlink(...found);
    } while (cursor !== "0");
  }
}

async function main(): Promise<void> {
  if (redis instanceof Cluster) await new Promise((resolve) => redis.once("ready", resolve));
  await fill();
  const dbsize = (await Promise.all(masters().map((node) => node.dbsize()))).reduce((a, b) => a + b, 0);
  console.log(
    `${advertisers} advertisers, ${clustered ? "cluster" : "one server"}, ${dbsize} keys on the server(s)`,
  );
  const pass = new KeyspacePass(redis, keys, 0);
  try {
    for (let round = 1; round <= rounds; round++) {
      const before = await timed(async () => {
        let calls = 0;
        for (let i = 0; i < 3; i++) calls += await scanPass(keys.patterns.advertiser, 500);
        for (let i = 0; i < 10; i++) calls += await scanPass(keys.patterns.reservationExpiries, 500);
        return calls;
      });
      const after = await timed(async () => {
        const start = pass.stats.scanCalls;
        for (let i = 0; i < 10; i++) await pass.listing();
        return pass.stats.scanCalls - start;
      });
      const after5 = await timed(async () => {
        const start = pass.stats.scanCalls;
        for (let i = 0; i < 2; i++) await pass.listing();
        return pass.stats.scanCalls - start;
      });
      const index = await timed(readIndex);
      const row = (name: string, r: { ms: number; calls: number; serverMs: number }) =>
        `${name} ${r.calls} calls ${Math.round(r.ms)} ms (Redis ${Math.round(r.serverMs)} ms)`;
      console.log(
        `round ${round}: ${row("before(13 passes)", before)} | ${row("after reuse 1s (10)", after)} | ` +
          `${row("after reuse 5s (2)", after5)} | ${row("index read x1", index)}`,
      );
    }
  } finally {
    await cleanup();
    redis.disconnect();
  }
}

await main();
