import { randomBytes } from "node:crypto";
import { advertiserKey, createServingClient, metaKey } from "@adpipe/serving-client";
import autocannon from "autocannon";
import type { Redis } from "ioredis";
import type { BenchContext, BenchPart } from "../lib/context.js";
import { deletePrefix } from "../lib/infra.js";
import { type OpenLoopResult, openLoopHttpRun } from "../lib/open-loop-http.js";
import { type RunMode, type ServiceHandle, startService } from "../lib/services.js";
import { latencySummary, SampleBuffer } from "../lib/stats.js";

const PART = "lookup";
const HTTP_WARMUP_SECONDS = 2;
const HTTP_CONNECTIONS = 50;
const CLIENT_CONCURRENCY = [1, 32] as const;

/** Advertiser hashes as the tracker writes them (public fields), one in ten not serving. */
export async function seedServingHashes(redis: Redis, prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `bench-${i}`);
  for (let start = 0; start < ids.length; start += 1_000) {
    const pipeline = redis.pipeline();
    for (const [offset, id] of ids.slice(start, start + 1_000).entries()) {
      const i = start + offset;
      pipeline.hset(advertiserKey(id, prefix), {
        can_serve: i % 10 === 0 ? "0" : "1",
        ...(i % 10 === 0 ? { reason: "budget_exhausted" } : {}),
        period: "2026-11-25",
        net_micros: String(i * 1_000),
        gross_micros: String(i * 1_100),
        budget_micros: "100000000",
        clicks: String(i),
        updated_at: String(Date.now()),
      });
    }
    await pipeline.exec();
  }
  return ids;
}

export interface ClientLookupRun {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** `canServe` (HGET can_serve) through @adpipe/serving-client, `concurrency` callers in a loop. */
export async function clientLookupRun(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
  seconds: number,
  concurrency: number,
): Promise<ClientLookupRun> {
  const client = createServingClient({ redis, prefix });
  await client.ready();
  const latencies = new SampleBuffer();
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline) {
      const id = ids[next++ % ids.length] as string;
      const t = performance.now();
      await client.canServe(id);
      latencies.push(t, performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  await client.close();
  const summary = latencySummary(latencies.valuesBetween(0, Number.POSITIVE_INFINITY));
  return { opsPerSecond: summary.count / elapsed, p50Ms: summary.p50, p99Ms: summary.p99 };
}

export interface HttpLookupRun {
  readonly requestsPerSecond: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; p99_9: number; max: number };
  readonly total: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly apiCpuMicrosPerRequest: number;
}

/** GET /v1/advertisers/{id}/serving at a fixed offered rate with autocannon. */
export function autocannonRun(
  target: Pick<StartedApi, "url" | "readToken">,
  ids: readonly string[],
  seconds: number,
  rate: number,
  connections: number,
): Promise<autocannon.Result> {
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: target.url,
        // Lookups need a read token (the API's default): the bench pays for authentication like a real client.
        headers: { authorization: `Bearer ${target.readToken}` },
        connections,
        duration: seconds,
        overallRate: rate,
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

export interface StartedApi {
  readonly api: ServiceHandle;
  readonly url: string;
  /** The read token the API was started with. */
  readonly readToken: string;
}

/** The API as a child process (production entry point), serving lookups from `prefix`. */
export async function startApi(
  settings: { mode: RunMode; redisUrl: string; databaseUrl: string; kafkaBrokers: string },
  prefix: string,
  extraEnv: Record<string, string> = {},
): Promise<StartedApi> {
  const readToken = randomBytes(16).toString("hex");
  const api = await startService("api", {
    mode: settings.mode,
    env: {
      REDIS_URL: settings.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      DATABASE_URL: settings.databaseUrl,
      KAFKA_BROKERS: settings.kafkaBrokers,
      API_WRITE_TOKENS: `bench:${randomBytes(16).toString("hex")}`,
      API_READ_TOKENS: `bench-reader:${readToken}`,
      ...extraEnv,
    },
  });
  return { api, url: `http://127.0.0.1:${api.port}`, readToken };
}

export async function httpLookupRun(
  started: StartedApi,
  ids: readonly string[],
  seconds: number,
  rate: number,
  connections = HTTP_CONNECTIONS,
): Promise<HttpLookupRun> {
  const before = await started.api.proc();
  const result = await autocannonRun(started, ids, seconds, rate, connections);
  const after = await started.api.proc();
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      p99_9: result.latency.p99_9,
      max: result.latency.max,
    },
    total: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    apiCpuMicrosPerRequest:
      before === null || after === null || result.requests.total === 0
        ? Number.NaN
        : ((after.cpuSeconds - before.cpuSeconds) * 1e6) / result.requests.total,
  };
}

async function clientFigures(context: BenchContext, prefix: string, ids: readonly string[]): Promise<void> {
  const { settings, report } = context;
  for (const concurrency of CLIENT_CONCURRENCY) {
    const runs: ClientLookupRun[] = [];
    await clientLookupRun(context.redis, prefix, ids, 1, concurrency); // warm-up
    for (let run = 1; run <= settings.runs; run++) {
      runs.push(await clientLookupRun(context.redis, prefix, ids, settings.lookupSeconds, concurrency));
    }
    const label = concurrency === 1 ? "1 caller" : `${concurrency} concurrent callers`;
    report.add({
      id: `lookup.client_c${concurrency}_p50`,
      part: PART,
      label: `serving client canServe (HGET can_serve) p50, ${label}`,
      unit: "ms",
      better: "lower",
      runs: runs.map((r) => r.p50Ms),
    });
    report.add({
      id: `lookup.client_c${concurrency}_p99`,
      part: PART,
      label: `serving client canServe p99, ${label}`,
      unit: "ms",
      better: "lower",
      runs: runs.map((r) => r.p99Ms),
    });
    report.add({
      id: `lookup.client_c${concurrency}_ops`,
      part: PART,
      label: `serving client canServe throughput, ${label}`,
      unit: "ops/s",
      better: "higher",
      runs: runs.map((r) => r.opsPerSecond),
    });
  }
}

/** The topic name the reserve figures' state guard (meta hash) is written under. */
const RESERVE_TOPIC = "bench-lookup";

/**
 * hard_cap advertisers with budgets no run can exhaust (every reserve is granted and recorded: the full write
 * path), and the tracker's state guard reserve.lua checks.
 */
async function seedReservable(redis: Redis, prefix: string, ids: readonly string[]): Promise<void> {
  await redis.hset(metaKey(prefix, RESERVE_TOPIC), {
    created_at: String(Date.now()),
    epoch: String(Date.now()),
  });
  for (let start = 0; start < ids.length; start += 1_000) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(start, start + 1_000)) {
      pipeline.hset(advertiserKey(id, prefix), {
        mode: "hard_cap",
        budget_micros: "1000000000000000",
        can_serve: "1",
        reason: "",
      });
      pipeline.hdel(advertiserKey(id, prefix), "reason");
    }
    await pipeline.exec();
  }
}

export interface ReserveRun {
  readonly grantsPerSecond: number;
  readonly refused: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** `reserve` through @adpipe/serving-client (one EVALSHA reserve.lua), `concurrency` callers in a loop. */
export async function reserveRun(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
  seconds: number,
  concurrency: number,
): Promise<ReserveRun> {
  const client = createServingClient({ redis, prefix, topic: RESERVE_TOPIC });
  const latencies = new SampleBuffer();
  const run = randomBytes(4).toString("hex");
  let next = 0;
  let granted = 0;
  let refused = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline) {
      const n = next++;
      const t = performance.now();
      const answer = await client.reserve({
        advertiserId: ids[n % ids.length] as string,
        reservationId: `${run}-${n}`,
        maxCostMicros: 250_000,
        ttlMs: 60_000,
      });
      latencies.push(t, performance.now() - t);
      if (answer.granted) granted++;
      else refused++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  await client.close();
  const summary = latencySummary(latencies.valuesBetween(0, Number.POSITIVE_INFINITY));
  return { grantsPerSecond: granted / elapsed, refused, p50Ms: summary.p50, p99Ms: summary.p99 };
}

async function reserveFigures(context: BenchContext, prefix: string, count: number): Promise<void> {
  const { settings, report } = context;
  // Advertisers of their own: the lookup hashes stay as the HTTP figures expect them.
  const ids = Array.from({ length: count }, (_, i) => `bench-reserve-${i}`);
  await seedReservable(context.redis, prefix, ids);
  for (const concurrency of CLIENT_CONCURRENCY) {
    const runs: ReserveRun[] = [];
    await reserveRun(context.redis, prefix, ids, 1, concurrency); // warm-up (and SCRIPT LOAD)
    for (let run = 1; run <= settings.runs; run++) {
      runs.push(await reserveRun(context.redis, prefix, ids, settings.lookupSeconds, concurrency));
    }
    const refused = runs.reduce((sum, r) => sum + r.refused, 0);
    if (refused > 0)
      report.notes.push(`lookup: ${refused} reservations refused (the budgets should never run out)`);
    const label = concurrency === 1 ? "1 caller" : `${concurrency} concurrent callers`;
    if (concurrency === 1) {
      report.add({
        id: "lookup.reserve_c1_p50",
        part: PART,
        label: `serving client reserve (EVALSHA reserve.lua, hard_cap) p50, ${label}`,
        unit: "ms",
        better: "lower",
        runs: runs.map((r) => r.p50Ms),
      });
      report.add({
        id: "lookup.reserve_c1_p99",
        part: PART,
        label: `serving client reserve p99, ${label}`,
        unit: "ms",
        better: "lower",
        goal: 1,
        runs: runs.map((r) => r.p99Ms),
      });
    }
    report.add({
      id: `lookup.reserve_c${concurrency}_grants`,
      part: PART,
      label: `serving client reserve grants/s, ${label}`,
      unit: "grants/s",
      better: "higher",
      ...(concurrency === 1 ? {} : { goal: 50_000 }),
      runs: runs.map((r) => r.grantsPerSecond),
    });
  }
}

/**
 * GET /v1/advertisers/{id}/serving at `rate` requests per second evenly spaced (open loop, openLoopHttpRun),
 * cycling through `ids`. autocannon's fixed rate is a burst per connection each second (see open-loop-http.ts);
 * both are reported.
 */
export function evenLookupRun(
  target: Pick<StartedApi, "url" | "readToken">,
  ids: readonly string[],
  seconds: number,
  rate: number,
): Promise<OpenLoopResult> {
  return openLoopHttpRun({
    url: target.url,
    headers: { authorization: `Bearer ${target.readToken}` },
    pathOf: (i) => `/v1/advertisers/${ids[i % ids.length]}/serving`,
    rate,
    seconds,
    connections: HTTP_CONNECTIONS,
  });
}

async function httpFigures(context: BenchContext, prefix: string, ids: readonly string[]): Promise<void> {
  const { settings, report } = context;
  const started = await startApi(settings, prefix);
  try {
    await autocannonRun(started, ids, HTTP_WARMUP_SECONDS, settings.httpRate, HTTP_CONNECTIONS);
    const runs: HttpLookupRun[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const result = await httpLookupRun(started, ids, settings.httpSeconds, settings.httpRate);
      context.log(
        `HTTP run ${run}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, errors ${result.errors}, non-2xx ${result.non2xx}`,
      );
      runs.push(result);
    }
    const evenRuns: OpenLoopResult[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const result = await evenLookupRun(started, ids, settings.httpSeconds, settings.httpRate);
      context.log(
        `HTTP run ${run}, evenly offered: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms, errors ${result.errors}, non-2xx ${result.non2xx}`,
      );
      evenRuns.push(result);
    }
    const peak = await started.api.proc();
    const rate = settings.httpRate.toLocaleString("en-US");
    report.add({
      id: "lookup.http_even_p50",
      part: PART,
      label: `GET /v1/advertisers/{id}/serving p50 at ${rate} req/s evenly offered (open loop)`,
      unit: "ms",
      better: "lower",
      runs: evenRuns.map((r) => r.latencyMs.p50),
    });
    report.add({
      id: "lookup.http_even_p99",
      part: PART,
      label: `GET /v1/advertisers/{id}/serving p99 at ${rate} req/s evenly offered (open loop)`,
      unit: "ms",
      better: "lower",
      goal: 5,
      runs: evenRuns.map((r) => r.latencyMs.p99),
    });
    report.add({
      id: "lookup.http_even_rps",
      part: PART,
      label: `HTTP requests/s answered (${rate} evenly offered, up to ${HTTP_CONNECTIONS} connections)`,
      unit: "req/s",
      better: "higher",
      runs: evenRuns.map((r) => r.requestsPerSecond),
    });
    report.add({
      id: "lookup.http_p50",
      part: PART,
      label: `GET /v1/advertisers/{id}/serving p50 at ${rate} req/s, autocannon (bursts per connection)`,
      unit: "ms",
      better: "lower",
      runs: runs.map((r) => r.latencyMs.p50),
    });
    report.add({
      id: "lookup.http_p99",
      part: PART,
      label: `GET /v1/advertisers/{id}/serving p99 at ${rate} req/s, autocannon (bursts per connection)`,
      unit: "ms",
      better: "lower",
      goal: 5,
      runs: runs.map((r) => r.latencyMs.p99),
    });
    report.add({
      id: "lookup.http_rps",
      part: PART,
      label: `HTTP requests/s achieved (offered ${rate}, ${HTTP_CONNECTIONS} connections)`,
      unit: "req/s",
      better: "higher",
      runs: runs.map((r) => r.requestsPerSecond),
    });
    report.add({
      id: "resources.api_cpu",
      part: "resources",
      label: "API CPU per million serving requests",
      unit: "CPU s",
      better: "lower",
      runs: runs.map((r) => r.apiCpuMicrosPerRequest),
    });
    report.add({
      id: "resources.api_peak_rss",
      part: "resources",
      label: "API peak RSS",
      unit: "MiB",
      better: "lower",
      runs: [(peak?.peakRssBytes ?? Number.NaN) / 1_048_576],
    });
    report.detail(PART, "http_runs", runs);
    report.detail(PART, "http_even_runs", evenRuns);
    const failed = [...runs, ...evenRuns].reduce((sum, r) => sum + r.errors + r.non2xx, 0);
    if (failed > 0) report.notes.push(`lookup: ${failed} HTTP requests failed or were not 2xx`);
  } finally {
    await started.api.stop();
  }
}

export const lookupPart: BenchPart = {
  name: PART,
  description:
    "can_serve lookups: serving client (HGET), reserve (reserve.lua) and the HTTP endpoint (autocannon at a fixed rate)",
  async run(context) {
    const prefix = `bench:${context.settings.tag}:lookup:`;
    try {
      const ids = await seedServingHashes(context.redis, prefix, context.settings.lookupAdvertisers);
      await clientFigures(context, prefix, ids);
      await reserveFigures(context, prefix, Math.min(ids.length, 1_000));
      await httpFigures(context, prefix, ids);
    } finally {
      await deletePrefix(context.redis, prefix);
    }
  },
};
