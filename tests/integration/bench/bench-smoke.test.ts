/**
 * Smoke runs of every bench part with tiny sizes, so the benchmarks cannot rot: each part must run against the
 * real services and produce well-formed figures (finite, min <= median <= max, one value per run) and a JSON
 * report with machine info. No timed assertion: the figures themselves are whatever this machine gives.
 */
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { runApiBench } from "../../../bench/api.js";
import type { Figure } from "../../../bench/lib/report.js";
import { type BenchSettings, settingsWith } from "../../../bench/lib/settings.js";
import { measureDedupMemory } from "../../../bench/realtime-dedup-memory.js";
import { measureTrackerFreshness } from "../../../bench/realtime-freshness.js";
import { runBench, selectParts } from "../../../bench/run.js";
import { REPO_ROOT, testServices, uniqueName } from "../../support/index.js";

const resultsDir = join(tmpdir(), uniqueName("adpipe-bench-smoke"));

/** `overspend <mode> <scenario>: <micros> micros (<percent> % of budgets), unused <percent> %, grants <n>, refused <n>` */
const OVERSPEND_LINE =
  /^overspend (observe|hard_cap) (steady|paused|killed): (\d+) micros \((\d+\.\d{2}) % of budgets\), unused (\d+\.\d{2}) %, grants (\d+), refused (\d+)$/;

/** Runs a command from the repository root with PATH and `env`; resolves with its exit code and output. */
function runCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/**
 * The command an operator runs: `bench/run.ts <part> --quick <args>` through tsx (as `npm run bench:<part>` does),
 * from source, against the test services, writing into resultsDir.
 */
function runBenchCommand(part: string, args: readonly string[] = []) {
  const services = testServices();
  return runCommand(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      "bench/run.ts",
      part,
      "--quick",
      ...args,
      "--mode",
      "source",
      "--results-dir",
      resultsDir,
    ],
    {
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      REDIS_URL: services.redisUrl,
      DATABASE_URL: services.databaseUrl,
    },
  );
}

function tinySettings(overrides: Partial<BenchSettings> = {}): BenchSettings {
  const services = testServices();
  return settingsWith({
    events: 3_000,
    advertisers: 50,
    partitions: 3,
    runs: 2,
    ceilingEvents: 2_000,
    freshnessRate: 400,
    freshnessSeconds: 2,
    freshnessWarmupSeconds: 1,
    freshnessWindows: 2,
    mixedRates: [200, 400],
    mixedSeconds: 2,
    mixedSearchMin: 200,
    mixedSearchMax: 600,
    mixedSearchStep: 200,
    mixedSearchSeconds: 1,
    lookupSeconds: 1,
    lookupAdvertisers: 200,
    httpRate: 200,
    httpSeconds: 1,
    profile: false,
    profileEvents: 2_000,
    // From source: the smoke run must not depend on (or write) a build.
    mode: "source",
    kafkaBrokers: services.kafkaBrokers.join(","),
    databaseUrl: services.databaseUrl,
    redisUrl: services.redisUrl,
    resultsDir,
    quiet: true,
    ...overrides,
  });
}

function expectWellFormed(figures: readonly Figure[], ids: readonly string[], runs: number): void {
  for (const id of ids) {
    const figure = figures.find((f) => f.id === id);
    expect(figure, `figure ${id}`).toBeDefined();
    if (figure === undefined) continue;
    expect(figure.runs.length, `${id} runs`).toBe(runs);
    for (const value of [figure.median, figure.min, figure.max, ...figure.runs]) {
      expect(Number.isFinite(value), `${id} = ${value}`).toBe(true);
    }
    expect(figure.min).toBeLessThanOrEqual(figure.median);
    expect(figure.median).toBeLessThanOrEqual(figure.max);
    expect(figure.unit.length).toBeGreaterThan(0);
  }
}

async function runPart(part: string, overrides: Partial<BenchSettings> = {}) {
  const settings = tinySettings(overrides);
  const outcome = await runBench(selectParts([part]), settings);
  const json = JSON.parse(await readFile(outcome.path, "utf8")) as {
    machine: { cpus: { count: number }; versions: Record<string, string | null>; load_average_end: number[] };
    parameters: { parts: string[]; seed: number };
    figures: { id: string; median: number }[];
  };
  expect(json.machine.cpus.count).toBeGreaterThan(0);
  expect(json.machine.versions.postgres).toBeTruthy();
  expect(json.machine.versions.redis).toBeTruthy();
  expect(json.machine.load_average_end).toHaveLength(3);
  expect(json.parameters.parts).toEqual([part]);
  expect(json.figures.length).toBe(outcome.report.figures.length);
  expect(outcome.report.table()).toContain("median");
  return outcome.report;
}

describe("bench smoke (tiny sizes, no timed assertions)", () => {
  afterAll(async () => {
    await rm(resultsDir, { recursive: true, force: true });
  });

  it("ceilings: raw consume (two clients), produce, COPY and HINCRBY rates", {
    timeout: 180_000,
  }, async () => {
    const report = await runPart("ceilings");
    expectWellFormed(
      report.figures,
      [
        "ceiling.consume_kafkajs",
        "ceiling.consume_platformatic",
        "ceiling.produce_kafkajs",
        "ceiling.produce_native",
        "ceiling.pg_copy_bronze",
        "ceiling.redis_hincrby",
      ],
      2,
    );
    expect(report.figure("ceiling.consume_platformatic")?.ratioToCeiling).toBeGreaterThan(0);
  });

  it("warehouse: ingestor throughput, resources and a CPU profile", { timeout: 240_000 }, async () => {
    const report = await runPart("warehouse", { runs: 1, profile: true });
    expectWellFormed(
      report.figures,
      [
        "warehouse.events_per_s",
        "resources.ingestor_cpu",
        "resources.ingestor_postgres_cpu",
        "resources.ingestor_peak_rss",
        "resources.postgres_bronze",
        "resources.postgres_silver",
        "resources.postgres_gold",
      ],
      1,
    );
    const profiled = report.details.warehouse?.profiled_run as { profile: { top: unknown[] } | null };
    expect(profiled.profile?.top.length).toBeGreaterThan(0);
  });

  it("realtime: tracker throughput and Redis footprint", { timeout: 180_000 }, async () => {
    const report = await runPart("realtime", { runs: 1 });
    expectWellFormed(
      report.figures,
      [
        "realtime.events_per_s",
        "resources.tracker_cpu",
        "resources.tracker_peak_rss",
        "resources.redis_per_advertiser",
        "resources.redis_dedup_per_million",
      ],
      1,
    );
  });

  it("freshness: both paths under a fixed rate, per-window quantiles", { timeout: 240_000 }, async () => {
    const report = await runPart("freshness");
    expectWellFormed(
      report.figures,
      [
        "freshness.redis_p50",
        "freshness.redis_p99",
        "freshness.gold_p50",
        "freshness.gold_p99",
        "freshness.gold_max",
      ],
      2,
    );
    expect(report.figure("freshness.redis_p50")?.median).toBeLessThanOrEqual(
      report.figure("freshness.redis_max")?.median ?? Number.NaN,
    );
  });

  it("mixed: both paths at two rates, then the sustained-rate search", { timeout: 300_000 }, async () => {
    const report = await runPart("mixed");
    expectWellFormed(
      report.figures,
      [200, 400].flatMap((rate) => [
        `mixed.r${rate}.redis_p50`,
        `mixed.r${rate}.redis_p99`,
        `mixed.r${rate}.gold_p50`,
        `mixed.r${rate}.gold_p99`,
      ]),
      2,
    );
    expect(report.figure("mixed.highest_sustained_rate")).toBeDefined();
    const search = report.details.mixed?.search as {
      probes: { rate: number; passed: boolean }[];
      sustained: number | null;
      failed: number | null;
    };
    // The fixed rates are the search's first outcomes; every probe is on the grid of the bounds.
    expect(search.probes.slice(0, 2).map((probe) => probe.rate)).toEqual([200, 400]);
    for (const probe of search.probes) expect([200, 400, 600]).toContain(probe.rate);
    if (search.sustained !== null && search.failed !== null) {
      expect(search.sustained).toBeLessThan(search.failed);
    }
  });

  it("lookup: serving client and HTTP endpoint", { timeout: 180_000 }, async () => {
    const report = await runPart("lookup");
    expectWellFormed(
      report.figures,
      [
        "lookup.client_c1_p50",
        "lookup.client_c32_ops",
        "lookup.http_p50",
        "lookup.http_p99",
        "lookup.http_rps",
      ],
      2,
    );
  });

  it("pacing --quick: prints the deviation and spent lines with figures in range", {
    timeout: 300_000,
  }, async () => {
    const run = await runBenchCommand("pacing", ["--pacing-advertisers", "5", "--pacing-day-seconds", "40"]);
    expect(run.code, run.output.slice(-4_000)).toBe(0);
    const deviation =
      /^pacing max deviation: p50 (\d+\.\d{2}) p99 (\d+\.\d{2}) max (\d+\.\d{2}) % of budget \(goal <= 5 %\)$/m.exec(
        run.output,
      );
    const spent = /^pacing spent at period end: min (\d+\.\d{2}) p50 (\d+\.\d{2}) % \(goal >= 97 %\)$/m.exec(
      run.output,
    );
    expect(deviation, run.output.slice(-2_000)).not.toBeNull();
    expect(spent, run.output.slice(-2_000)).not.toBeNull();
    const [p50, p99, max] = (deviation ?? []).slice(1).map(Number);
    expect(p50).toBeLessThanOrEqual(p99 as number);
    expect(p99).toBeLessThanOrEqual(max as number);
    // Paced and served: every advertiser spent something.
    const [min, median] = (spent ?? []).slice(1).map(Number);
    expect(min).toBeGreaterThan(0);
    expect(min).toBeLessThanOrEqual(median as number);
  });

  it("overspend --quick: one line per mode and scenario, and every hard_cap line says 0 micros", {
    timeout: 420_000,
  }, async () => {
    const run = await runBenchCommand("overspend");
    expect(run.code, run.output.slice(-4_000)).toBe(0);
    // The result lines (the table after them has rows of part "overspend" too, in columns).
    const lines = run.output.split("\n").filter((line) => /^overspend (observe|hard_cap) /.test(line));
    const seen = lines.map((line) => {
      const match = OVERSPEND_LINE.exec(line);
      expect(match, `line format: ${line}`).not.toBeNull();
      const [, mode, scenario, micros, share, unused, grants, refused] = match ?? [];
      return {
        line,
        mode,
        scenario,
        micros: Number(micros),
        share: Number(share),
        unused: Number(unused),
        grants: Number(grants),
        refused: Number(refused),
      };
    });
    expect(seen.map((s) => `${s.mode} ${s.scenario}`).sort()).toEqual(
      ["steady", "paused", "killed"]
        .flatMap((scenario) => [`hard_cap ${scenario}`, `observe ${scenario}`])
        .sort(),
    );
    for (const s of seen) {
      // Demand is well above the budgets: both servers served some offers and refused others.
      expect(s.grants, s.line).toBeGreaterThan(0);
      expect(s.refused, s.line).toBeGreaterThan(0);
      expect(s.unused, s.line).toBeGreaterThanOrEqual(0);
      expect(s.unused, s.line).toBeLessThanOrEqual(100);
      if (s.mode === "hard_cap") {
        expect(s.line).toContain(": 0 micros (0.00 % of budgets)");
        expect(s.micros).toBe(0);
      }
    }
    // The JSON report keeps the same lines beside the runs they come from.
    const reportPath = /^report: (.+)$/m.exec(run.output)?.[1];
    expect(reportPath, "report path printed").toBeDefined();
    const json = JSON.parse(await readFile(reportPath ?? "", "utf8")) as {
      details: { overspend: { lines: string[] } };
    };
    expect(json.details.overspend.lines).toEqual(lines);
  });

  it("the standalone scripts: API load test, tracker freshness, dedup memory", {
    timeout: 180_000,
  }, async () => {
    const services = testServices();
    const api = await runApiBench({
      rate: 100,
      seconds: 1,
      connections: 4,
      servingCacheTtlMs: 0,
      mode: "source",
      redisUrl: services.redisUrl,
      databaseUrl: services.databaseUrl,
      kafkaBrokers: services.kafkaBrokers.join(","),
      resultsDir: null,
      quiet: true,
    });
    expect(api.total_requests).toBeGreaterThan(0);
    expect(api.non_2xx).toBe(0);

    const freshness = await measureTrackerFreshness({
      rate: 50,
      seconds: 2,
      brokers: services.kafkaBrokers.join(","),
      redisUrl: services.redisUrl,
    });
    expect(freshness.measured_records).toBeGreaterThan(0);
    expect(freshness.p50_ms).toBeLessThanOrEqual(freshness.p99_ms ?? Number.NaN);

    const redis = new Redis(services.redisUrl);
    try {
      const dedup = await measureDedupMemory(redis, 5, 2_000);
      expect(dedup.results).toHaveLength(2);
      for (const result of dedup.results) expect(result.bytes_per_click).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});
