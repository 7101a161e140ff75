/**
 * The HTTP serving lookup alone, for profiling the API: seeds 10,000 advertiser hashes, starts the API from dist
 * (optionally under `node --cpu-prof`), offers `rate` req/s with autocannon (50 connections) for 3 runs of
 * `seconds`, and prints p50/p99 and the API's CPU-µs per request of each run, then the profile's summary.
 *
 *   node --conditions=source --import tsx bench/api-profile.ts [rate=5000] [seconds=6] [profile dir]
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { deletePrefix } from "./lib/infra.js";
import { formatProfile, summarizeProfileFile } from "./lib/profile.js";
import { startService } from "./lib/services.js";
import { settingsWith } from "./lib/settings.js";
import { autocannonRun, seedServingHashes } from "./parts/lookup.js";

const rate = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 6);
const profileDir = process.argv[4];
const settings = settingsWith();
const redis = new Redis(settings.redisUrl);
const prefix = `bench:api-profile:${randomBytes(3).toString("hex")}:`;
try {
  const ids = await seedServingHashes(redis, prefix, 10_000);
  const readToken = randomBytes(16).toString("hex");
  const api = await startService("api", {
    mode: "dist",
    env: {
      REDIS_URL: settings.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      DATABASE_URL: settings.databaseUrl,
      KAFKA_BROKERS: settings.kafkaBrokers,
      API_WRITE_TOKENS: `bench:${randomBytes(16).toString("hex")}`,
      API_READ_TOKENS: `bench-reader:${readToken}`,
    },
    ...(profileDir === undefined ? {} : { cpuProfileDir: profileDir }),
  });
  const target = { url: `http://127.0.0.1:${api.port}`, readToken };
  await autocannonRun(target, ids, 2, rate, 50); // warm-up
  for (let run = 1; run <= 3; run++) {
    const before = await api.proc();
    const result = await autocannonRun(target, ids, seconds, rate, 50);
    const after = await api.proc();
    const cpuMicros =
      before === null || after === null
        ? Number.NaN
        : ((after.cpuSeconds - before.cpuSeconds) * 1e6) / result.requests.total;
    console.log(
      `run ${run}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, API ${cpuMicros.toFixed(1)} CPU-µs per request, non-2xx ${result.non2xx}, errors ${result.errors}`,
    );
  }
  await api.stop();
  const path = await api.profilePath();
  if (path !== null) console.log(formatProfile(path, await summarizeProfileFile(path, 30)));
} finally {
  await deletePrefix(redis, prefix);
  await redis.quit();
}
