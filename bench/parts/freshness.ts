import type { BenchPart } from "../lib/context.js";
import { fellBehindNotes, runFreshness } from "../lib/freshness-run.js";
import type { LatencySummary } from "../lib/stats.js";

const PART = "freshness";

type Quantile = "p50" | "p95" | "p99" | "max";
const QUANTILES: readonly Quantile[] = ["p50", "p95", "p99", "max"];

export const freshnessPart: BenchPart = {
  name: PART,
  description: "fixed offered rate with both paths running: produce → Redis apply and produce → Gold commit",
  async run(context) {
    const { settings, report } = context;
    const rate = settings.freshnessRate;
    const run = await runFreshness(context, {
      rate,
      warmupSeconds: settings.freshnessWarmupSeconds,
      measuredSeconds: settings.freshnessSeconds,
      windows: settings.freshnessWindows,
      name: "fresh",
    });
    const { gold, redis, caughtUp, achievedRate } = run;
    report.notes.push(...fellBehindNotes(PART, run));
    const add = (
      path: "redis" | "gold",
      summary: readonly LatencySummary[],
      goal: number,
      behind: boolean,
    ) => {
      for (const q of QUANTILES) {
        report.add({
          id: `freshness.${path}_${q}`,
          part: PART,
          label: `produce → ${path === "redis" ? "Redis apply" : "Gold commit"} ${q} at ${rate.toLocaleString("en-US")}/s`,
          unit: "ms",
          better: "lower",
          ...(q === "p99" ? { goal } : {}),
          runs: summary.map((s) => s[q]),
          ...(behind
            ? { note: "path fell behind: lower bound (records not done count at their latency so far)" }
            : {}),
        });
      }
    };
    add("redis", redis.windows, 50, !caughtUp.redis);
    add("gold", gold.windows, 2_000, !caughtUp.gold);
    report.add({
      id: "freshness.offered_rate",
      part: PART,
      label: "achieved produce rate (offered rate in parameters)",
      unit: "events/s",
      better: "higher",
      runs: [achievedRate],
    });
    report.add({
      id: "resources.steady_ingestor_cpu",
      part: "resources",
      label: `ingestor CPU per million events at ${rate.toLocaleString("en-US")}/s`,
      unit: "CPU s",
      better: "lower",
      runs: [run.cpuPerMillion.ingestor],
    });
    report.add({
      id: "resources.steady_tracker_cpu",
      part: "resources",
      label: `budget-tracker CPU per million events at ${rate.toLocaleString("en-US")}/s`,
      unit: "CPU s",
      better: "lower",
      runs: [run.cpuPerMillion.tracker],
    });
    report.detail(PART, "run", run.detail);
  },
};
