/**
 * `npm run bench`: every benchmark in one run (docs/performance.md), each figure a median of several runs
 * next to the ceiling that bounds it. Prints a table and writes bench/results/<timestamp>.json (machine, versions,
 * parameters, every run of every figure, profiles).
 *
 *   npm run bench                                  # everything, defaults (about 20 minutes on 2 cores)
 *   npm run bench -- warehouse realtime            # some parts
 *   npm run bench -- --events 200000 --runs 3      # smaller
 *   npm run bench -- warehouse --service-env INGESTOR_PARTITIONS_CONCURRENTLY=4
 *   npm run bench:mixed -- --mixed-rates 5000,10000 --mixed-seconds 120   # both paths together, rate search
 *   npm run bench:overspend -- --quick             # observe vs hard_cap, scaled down (about a minute)
 *   npm run bench:pacing                           # even pacing over a 10-minute budget day (--quick: 2 minutes)
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { redactUrl } from "@adpipe/config";
import { Command, InvalidArgumentError, Option } from "commander";
import { BenchContext, type BenchPart } from "./lib/context.js";
import { loadAverage, machineInfo } from "./lib/machine.js";
import { BenchReport } from "./lib/report.js";
import type { RunMode } from "./lib/services.js";
import {
  type BenchSettings,
  DEFAULT_SETTINGS,
  QUICK_OVERSPEND,
  QUICK_PACING,
  settingsWith,
} from "./lib/settings.js";
import { ceilingsPart } from "./parts/ceilings.js";
import { freshnessPart } from "./parts/freshness.js";
import { lookupPart } from "./parts/lookup.js";
import { mixedPart } from "./parts/mixed.js";
import { overspendPart } from "./parts/overspend.js";
import { pacingPart } from "./parts/pacing.js";
import { realtimePart } from "./parts/realtime.js";
import { warehousePart } from "./parts/warehouse.js";

export const PARTS: readonly BenchPart[] = [
  ceilingsPart,
  warehousePart,
  realtimePart,
  freshnessPart,
  mixedPart,
  lookupPart,
  overspendPart,
  pacingPart,
];

/** Names that stand for several parts. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  all: PARTS.map((p) => p.name),
  // Resource figures come from the runs that load the services: throughput runs and the HTTP lookups.
  resources: ["warehouse", "realtime", "lookup"],
  throughput: ["warehouse", "realtime"],
};

const PART_ORDER = [
  "ceilings",
  "warehouse",
  "realtime",
  "freshness",
  "mixed",
  "lookup",
  "resources",
  "overspend",
  "pacing",
];

function positiveInt(value: string): number {
  const n = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
}

function positiveIntList(value: string): number[] {
  return value.split(",").map((item) => positiveInt(item.trim()));
}

function keyValue(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError("expected KEY=VALUE");
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** Expands aliases and checks names; keeps the canonical order. */
export function selectParts(names: readonly string[]): BenchPart[] {
  const wanted = new Set<string>();
  for (const name of names.length === 0 ? ["all"] : names) {
    const expanded = ALIASES[name] ?? [name];
    for (const part of expanded) {
      if (!PARTS.some((p) => p.name === part)) {
        throw new InvalidArgumentError(
          `unknown part "${name}": choose from ${[...PARTS.map((p) => p.name), ...Object.keys(ALIASES)].join(", ")}`,
        );
      }
      wanted.add(part);
    }
  }
  return PARTS.filter((p) => wanted.has(p.name));
}

/** `tsc -b` of the workspaces (incremental: seconds when up to date); throws with tsc's output on errors. */
async function buildServices(): Promise<void> {
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
  const child = spawn(process.execPath, [tsc, "-b", "tsconfig.build.json"], {
    cwd: fileURLToPath(new URL("../", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0)
    throw new Error(`tsc -b failed (use --mode source to bench the sources without a build):\n${output}`);
}

export interface BenchOutcome {
  readonly report: BenchReport;
  readonly path: string;
}

/** Runs the parts with the settings, prints the table, writes the JSON report. */
export async function runBench(parts: readonly BenchPart[], settings: BenchSettings): Promise<BenchOutcome> {
  const report = new BenchReport();
  const context = new BenchContext(settings, report);
  const started = performance.now();
  const { tag, ...parameters } = settings;
  report.parameters = {
    ...parameters,
    // Connection strings may carry passwords: never into the report.
    databaseUrl: redactUrl(settings.databaseUrl),
    redisUrl: redactUrl(settings.redisUrl),
    tag,
    parts: parts.map((p) => p.name),
  };
  try {
    if (settings.mode === "dist") {
      context.log("building the services (tsc -b tsconfig.build.json) to run them from dist");
      await buildServices();
    }
    await context.open();
    report.machine = await machineInfo(context.postgres, context.redis);
    const load = report.machine.load_average_start as number[];
    if ((load[0] ?? 0) > (report.machine.cpus as { count: number }).count) {
      report.notes.push(
        `load average ${load.join(" / ")} at start on ${(report.machine.cpus as { count: number }).count} CPUs: the machine was busy, figures are pessimistic`,
      );
    }
    for (const part of parts) {
      context.log(`== ${part.name}: ${part.description}`);
      const partStarted = performance.now();
      await part.run(context);
      report.detail(part.name, "seconds", Math.round((performance.now() - partStarted) / 100) / 10);
    }
  } finally {
    await context.close();
  }
  report.machine.load_average_end = loadAverage();
  report.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
  report.figures.sort((a, b) => PART_ORDER.indexOf(a.part) - PART_ORDER.indexOf(b.part));
  const path = await report.write(settings.resultsDir);
  if (!settings.quiet) {
    console.log(`\n${report.table()}\n`);
    for (const note of report.notes) console.log(`note: ${note}`);
    console.log(
      `load average ${(report.machine.load_average_start as number[]).join(" / ")} at start, ${(report.machine.load_average_end as number[]).join(" / ")} at end; ${report.durationSeconds} s in all`,
    );
    console.log(`report: ${path}`);
  }
  return { report, path };
}

async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("bench")
    .description(
      "Throughput, freshness, lookup latency, resources and overspend of the pipeline, with ceilings",
    )
    .argument("[parts...]", `parts to run: ${PARTS.map((p) => p.name).join(", ")} (default: all)`)
    .addOption(
      new Option("--events <n>", "events pre-loaded for the throughput parts")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.events),
    )
    .addOption(
      new Option("--runs <n>", "runs per figure (median, min, max)")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.runs),
    )
    .addOption(
      new Option("--seed <n>", "generator seed").argParser(positiveInt).default(DEFAULT_SETTINGS.seed),
    )
    .addOption(
      new Option("--advertisers <n>", "advertisers of the generated stream")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.advertisers),
    )
    .addOption(
      new Option("--zipf <s>", "Zipf exponent of traffic across advertisers")
        .argParser(positiveNumber)
        .default(DEFAULT_SETTINGS.zipf),
    )
    .addOption(
      new Option("--partitions <n>", "partitions of the bench topics")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.partitions),
    )
    .addOption(
      new Option("--ceiling-events <n>", "records per run of the produce, COPY and HINCRBY ceilings")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.ceilingEvents),
    )
    .addOption(
      new Option("--freshness-rate <n>", "offered events/s of the freshness run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.freshnessRate),
    )
    .addOption(
      new Option("--freshness-seconds <n>", "measured seconds of the freshness run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.freshnessSeconds),
    )
    .addOption(
      new Option(
        "--mixed-rates <list>",
        "offered events/s of the mixed part's fixed-rate runs, comma-separated",
      )
        .argParser(positiveIntList)
        .default(DEFAULT_SETTINGS.mixedRates),
    )
    .addOption(
      new Option("--mixed-seconds <n>", "measured seconds of each fixed-rate mixed run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.mixedSeconds),
    )
    .addOption(
      new Option("--mixed-search-min <n>", "lowest rate of the sustained-rate search")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.mixedSearchMin),
    )
    .addOption(
      new Option("--mixed-search-max <n>", "highest rate of the sustained-rate search")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.mixedSearchMax),
    )
    .addOption(
      new Option(
        "--mixed-search-step <n>",
        "resolution of the sustained-rate search (min and max are multiples)",
      )
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.mixedSearchStep),
    )
    .addOption(
      new Option("--mixed-search-seconds <n>", "measured seconds of each search step")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.mixedSearchSeconds),
    )
    .option("--no-mixed-search", "only the fixed-rate mixed runs, no sustained-rate search")
    .addOption(
      new Option("--http-rate <n>", "offered requests/s of the HTTP lookup")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.httpRate),
    )
    .addOption(
      new Option("--http-seconds <n>", "seconds per HTTP lookup run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.httpSeconds),
    )
    .addOption(
      new Option("--lookup-seconds <n>", "seconds per client lookup run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.lookupSeconds),
    )
    .addOption(
      new Option("--overspend-rate <n>", "offered clicks/s of the overspend run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.overspendRate),
    )
    .addOption(
      new Option(
        "--overspend-seconds <n>",
        "most offering seconds of an overspend scenario (if demand comes slower)",
      )
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.overspendSeconds),
    )
    .option(
      "--quick",
      "overspend and pacing scaled down: overspend 20 advertisers, 2,000 offers/s, budgets of 600 (explicit --overspend-* win); pacing 20 advertisers, a 2-minute day",
    )
    .addOption(
      new Option("--pacing-advertisers <n>", "even-paced advertisers of the pacing part")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.pacingAdvertisers),
    )
    .addOption(
      new Option("--pacing-day-seconds <n>", "wall seconds one budget day lasts in the pacing part")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.pacingDaySeconds),
    )
    .addOption(
      new Option("--profile-events <n>", "events of the extra CPU-profiled run")
        .argParser(positiveInt)
        .default(DEFAULT_SETTINGS.profileEvents),
    )
    .addOption(
      new Option("--mode <mode>", "run the services from dist (built first) or from source (tsx)")
        .choices(["dist", "source"])
        .default(DEFAULT_SETTINGS.mode),
    )
    .option("--no-profile", "skip the CPU-profiled runs of the ingestor and the tracker")
    .addOption(
      new Option("--service-env <KEY=VALUE>", "environment for the services under test (repeatable)")
        .argParser(keyValue)
        .default({}),
    )
    .option("--results-dir <dir>", "where the JSON report goes", DEFAULT_SETTINGS.resultsDir)
    .option("--quiet", "print only the table")
    .parse(argv, { from: "user" });
  const o = program.opts<{
    events: number;
    runs: number;
    seed: number;
    advertisers: number;
    zipf: number;
    partitions: number;
    ceilingEvents: number;
    freshnessRate: number;
    freshnessSeconds: number;
    mixedRates: number[];
    mixedSeconds: number;
    mixedSearch: boolean;
    mixedSearchMin: number;
    mixedSearchMax: number;
    mixedSearchStep: number;
    mixedSearchSeconds: number;
    httpRate: number;
    httpSeconds: number;
    lookupSeconds: number;
    overspendRate: number;
    overspendSeconds: number;
    quick?: boolean;
    pacingAdvertisers: number;
    pacingDaySeconds: number;
    profileEvents: number;
    profile: boolean;
    mode: RunMode;
    serviceEnv: Record<string, string>;
    resultsDir: string;
    quiet?: boolean;
  }>();
  const settings = settingsWith({
    events: o.events,
    runs: o.runs,
    seed: o.seed,
    advertisers: o.advertisers,
    zipf: o.zipf,
    partitions: o.partitions,
    ceilingEvents: Math.min(o.ceilingEvents, o.events),
    freshnessRate: o.freshnessRate,
    freshnessSeconds: o.freshnessSeconds,
    mixedRates: o.mixedRates,
    mixedSeconds: o.mixedSeconds,
    mixedSearch: o.mixedSearch,
    mixedSearchMin: o.mixedSearchMin,
    mixedSearchMax: o.mixedSearchMax,
    mixedSearchStep: o.mixedSearchStep,
    mixedSearchSeconds: o.mixedSearchSeconds,
    httpRate: o.httpRate,
    httpSeconds: o.httpSeconds,
    lookupSeconds: o.lookupSeconds,
    ...(o.quick === true ? { ...QUICK_OVERSPEND, ...QUICK_PACING } : {}),
    ...(program.getOptionValueSource("pacingAdvertisers") === "cli"
      ? { pacingAdvertisers: o.pacingAdvertisers }
      : {}),
    ...(program.getOptionValueSource("pacingDaySeconds") === "cli"
      ? { pacingDaySeconds: o.pacingDaySeconds }
      : {}),
    ...(program.getOptionValueSource("overspendRate") === "cli" ? { overspendRate: o.overspendRate } : {}),
    ...(program.getOptionValueSource("overspendSeconds") === "cli"
      ? { overspendSeconds: o.overspendSeconds }
      : {}),
    profileEvents: Math.min(o.profileEvents, o.events),
    profile: o.profile,
    mode: o.mode,
    serviceEnv: o.serviceEnv,
    resultsDir: o.resultsDir,
    quiet: o.quiet === true,
  });
  await runBench(selectParts(program.args), settings);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
