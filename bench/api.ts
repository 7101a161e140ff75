/**
 * Load test of the serving lookup (GET /v1/advertisers/{id}/serving) with autocannon: the API runs as a
 * child process (as in production: its own event loop), Redis holds 10,000 advertiser hashes under a
 * private prefix, and autocannon offers a fixed rate. Prints p50/p99/p99.9 latency and requests/s, and
 * whether the target (p99 <= 5 ms at 5,000 req/s) was met. `npm run bench -- lookup` measures the
 * same (and the serving client) as part of the whole benchmark; this script is the quick standalone check.
 *
 *   npm run bench:api
 *   BENCH_RATE=8000 BENCH_SECONDS=20 npm run bench:api
 *   API_SERVING_CACHE_TTL_MS=1000 npm run bench:api   # with the in-process cache (flip-invalidated)
 *
 * Traffic only goes to 127.0.0.1; the run is bounded (warm-up + BENCH_SECONDS) and cleans its keys up.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { Redis } from "ioredis";
import { deletePrefix } from "./lib/infra.js";
import { loadAverage } from "./lib/machine.js";
import type { RunMode } from "./lib/services.js";
import { autocannonRun, httpLookupRun, seedServingHashes, startApi } from "./parts/lookup.js";

const ADVERTISERS = 10_000;
const WARMUP_SECONDS = 2;
const TARGET_P99_MS = 5;

export interface ApiBenchOptions {
  rate: number;
  seconds: number;
  connections: number;
  servingCacheTtlMs: number;
  mode: RunMode;
  redisUrl: string;
  databaseUrl: string;
  kafkaBrokers: string;
  /** Where api.json goes; null = do not write. */
  resultsDir: URL | null;
  quiet?: boolean;
}

export async function runApiBench(options: ApiBenchOptions): Promise<Record<string, unknown>> {
  const prefix = `bench:api-${randomBytes(4).toString("hex")}:`;
  const redis = new Redis(options.redisUrl);
  try {
    const ids = await seedServingHashes(redis, prefix, ADVERTISERS);
    const started = await startApi(
      options,
      prefix,
      options.servingCacheTtlMs > 0 ? { API_SERVING_CACHE_TTL_MS: String(options.servingCacheTtlMs) } : {},
    );
    try {
      if (options.quiet !== true)
        console.log(`API at ${started.url}; ${ADVERTISERS} advertisers under ${prefix}`);
      await autocannonRun(started, ids, WARMUP_SECONDS, options.rate, options.connections);
      const result = await httpLookupRun(started, ids, options.seconds, options.rate, options.connections);
      const summary = {
        serving_cache_ttl_ms: options.servingCacheTtlMs,
        target: `p99 <= ${TARGET_P99_MS} ms at ${options.rate} req/s`,
        offered_rate: options.rate,
        seconds: options.seconds,
        connections: options.connections,
        requests_per_second: Math.round(result.requestsPerSecond),
        latency_ms: result.latencyMs,
        total_requests: result.total,
        // On a shared machine latency depends on the neighbours; CPU per request is the API's own cost.
        api_cpu_us_per_request: Number.isFinite(result.apiCpuMicrosPerRequest)
          ? Math.round(result.apiCpuMicrosPerRequest)
          : null,
        load_average_1m: loadAverage()[0] ?? null,
        errors: result.errors,
        non_2xx: result.non2xx,
        met:
          result.latencyMs.p99 <= TARGET_P99_MS &&
          result.requestsPerSecond >= options.rate * 0.95 &&
          result.non2xx === 0,
      };
      if (options.quiet !== true) {
        console.log(
          `serving lookup: ${summary.requests_per_second} req/s, p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms, p99.9 ${summary.latency_ms.p99_9} ms, errors ${summary.errors}, non-2xx ${summary.non_2xx}, API CPU ${summary.api_cpu_us_per_request} µs/request (load average ${summary.load_average_1m})`,
        );
        console.log(`target ${summary.target}: ${summary.met ? "met" : "NOT met"}`);
      }
      if (options.resultsDir !== null) {
        await mkdir(options.resultsDir, { recursive: true });
        await writeFile(new URL("api.json", options.resultsDir), `${JSON.stringify(summary, null, 2)}\n`);
      }
      return summary;
    } finally {
      await started.api.stop();
    }
  } finally {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const summary = await runApiBench({
    rate: Number(process.env.BENCH_RATE ?? 5_000),
    seconds: Number(process.env.BENCH_SECONDS ?? 10),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
    servingCacheTtlMs: Number(process.env.API_SERVING_CACHE_TTL_MS ?? 0),
    // The API from source (no build needed), as before; `npm run bench -- lookup` runs it from dist.
    mode: "source",
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    kafkaBrokers: process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    resultsDir: new URL("results/", import.meta.url),
  });
  if ((summary.errors as number) > 0 || (summary.non_2xx as number) > 0) process.exitCode = 1;
}
