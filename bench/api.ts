/**
 * Load test of the serving lookup (GET /v1/advertisers/{id}/serving) with autocannon: the API runs as a
 * child process (as in production: its own event loop), Redis holds 10,000 advertiser hashes under a
 * private prefix, and autocannon offers a fixed rate. Prints p50/p99/p99.9 latency and requests/s, and
 * whether the target (p99 <= 5 ms at 5,000 req/s) was met.
 *
 *   npm run bench:api
 *   BENCH_RATE=8000 BENCH_SECONDS=20 npm run bench:api
 *   API_SERVING_CACHE_TTL_MS=1000 npm run bench:api   # with the in-process cache (flip-invalidated)
 *
 * Traffic only goes to 127.0.0.1; the run is bounded (warm-up + BENCH_SECONDS) and cleans its keys up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { advertiserKey } from "@adpipe/serving-client";
import autocannon from "autocannon";
import { Redis } from "ioredis";

const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ADVERTISERS = 10_000;
const TARGET_P99_MS = 5;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROOT = new URL("../", import.meta.url);

async function seed(redis: Redis, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: ADVERTISERS }, (_, i) => `bench-${i}`);
  const pipeline = redis.pipeline();
  for (const [i, id] of ids.entries()) {
    pipeline.hset(advertiserKey(id, prefix), {
      can_serve: i % 10 === 0 ? "0" : "1",
      reason: i % 10 === 0 ? "budget_exhausted" : "",
      period: "2026-11-25",
      net_micros: String(i * 1_000),
      gross_micros: String(i * 1_100),
      budget_micros: "100000000",
      clicks: String(i),
      updated_at: String(Date.now()),
    });
  }
  await pipeline.exec();
  return ids;
}

async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

/** Starts services/api from source (no build needed) and resolves its base URL from the startup log line. */
function startApi(prefix: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", fileURLToPath(new URL("services/api/src/main.ts", ROOT))],
    {
      cwd: fileURLToPath(ROOT),
      env: {
        ...process.env,
        API_HOST: "127.0.0.1",
        API_PORT: "0",
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: "info",
        API_WRITE_TOKENS: `bench:${randomBytes(16).toString("hex")}`,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error("the API did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`the API exited with code ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      for (const line of buffer.split("\n")) {
        if (!line.includes('"api listening"')) continue;
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url });
        return;
      }
    });
  });
}

/** CPU seconds (user + system) the API process has used so far, from /proc (Linux). */
async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function run(url: string, ids: readonly string[], seconds: number): Promise<autocannon.Result> {
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        overallRate: RATE,
        requests: [
          {
            method: "GET",
            setupRequest: (request) => {
              next = (next + 1) % ids.length;
              return { ...request, path: `/v1/advertisers/${ids[next]}/serving` };
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const prefix = `bench:api-${randomBytes(4).toString("hex")}:`;
  const redis = new Redis(REDIS_URL);
  let api: { child: ChildProcess; url: string } | undefined;
  try {
    const ids = await seed(redis, prefix);
    api = await startApi(prefix);
    console.log(`API at ${api.url}; ${ADVERTISERS} advertisers under ${prefix}`);
    await run(api.url, ids, WARMUP_SECONDS);
    const pid = api.child.pid ?? 0;
    const cpuBefore = await cpuSeconds(pid);
    const result = await run(api.url, ids, SECONDS);
    const cpuAfter = await cpuSeconds(pid);
    // On a shared machine latency depends on the neighbours; CPU per request is the API's own cost.
    const cpuMicrosPerRequest =
      cpuBefore === null || cpuAfter === null || result.requests.total === 0
        ? null
        : Math.round(((cpuAfter - cpuBefore) * 1e6) / result.requests.total);
    const summary = {
      serving_cache_ttl_ms: Number(process.env.API_SERVING_CACHE_TTL_MS ?? 0),
      target: `p99 <= ${TARGET_P99_MS} ms at ${RATE} req/s`,
      offered_rate: RATE,
      seconds: SECONDS,
      connections: CONNECTIONS,
      requests_per_second: Math.round(result.requests.average),
      latency_ms: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        p99_9: result.latency.p99_9,
        max: result.latency.max,
      },
      total_requests: result.requests.total,
      api_cpu_us_per_request: cpuMicrosPerRequest,
      load_average_1m:
        Number((await readFile("/proc/loadavg", "utf8").catch(() => "")).split(" ")[0] ?? 0) || null,
      errors: result.errors,
      timeouts: result.timeouts,
      non_2xx: result.non2xx,
      met:
        result.latency.p99 <= TARGET_P99_MS && result.requests.average >= RATE * 0.95 && result.non2xx === 0,
    };
    console.log(
      `serving lookup: ${summary.requests_per_second} req/s, p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms, p99.9 ${summary.latency_ms.p99_9} ms, errors ${summary.errors}, non-2xx ${summary.non_2xx}, API CPU ${summary.api_cpu_us_per_request} µs/request (load average ${summary.load_average_1m})`,
    );
    console.log(`target ${summary.target}: ${summary.met ? "met" : "NOT met"}`);
    const dir = new URL("bench/results/", ROOT);
    await mkdir(dir, { recursive: true });
    await writeFile(new URL("api.json", dir), `${JSON.stringify(summary, null, 2)}\n`);
    if (result.errors > 0 || result.non2xx > 0) process.exitCode = 1;
  } finally {
    api?.child.kill("SIGTERM");
    await cleanup(redis, prefix);
    redis.disconnect();
  }
}

await main();
