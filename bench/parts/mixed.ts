/**
 * Both paths together at the rates the issue sets targets for (5,000 and 10,000 events/s offered, 120 s each by
 * default), then a search for the highest rate both sustain with produce → Gold p99 ≤ 2 s: bisection on a grid
 * (bench/lib/rate-search.ts) with shorter steps, seeded with the fixed-rate outcomes. Every run is the freshness
 * part's run (bench/lib/freshness-run.ts): fresh topic, database and prefix, so steps do not inherit backlog.
 */
import type { BenchContext, BenchPart } from "../lib/context.js";
import { type FreshnessRun, fellBehindNotes, runFreshness } from "../lib/freshness-run.js";
import { RateSearch } from "../lib/rate-search.js";
import { GOLD_P99_LIMIT_MS, sustainVerdict, type Verdict } from "../lib/sustain.js";

const PART = "mixed";

/** The targets at its two rates (p99 in ms): goal and must. */
const TARGETS: Readonly<Record<number, { redisP99?: [number, number]; goldP99?: [number, number] }>> = {
  5000: { redisP99: [20, 40] },
  10000: { redisP99: [30, 60], goldP99: [250, 500] },
};
/** The target for the highest sustained rate: goal and must (events/s). */
const SUSTAINED_TARGET: [number, number] = [30_000, 20_000];

function rateText(rate: number): string {
  return `${rate.toLocaleString("en-US")}/s`;
}

function verdictOf(run: FreshnessRun): Verdict {
  return sustainVerdict({
    rate: run.rate,
    achievedRate: run.achievedRate,
    caughtUp: run.caughtUp,
    goldP99Ms: run.gold.overall.p99,
  });
}

function logVerdict(context: BenchContext, run: FreshnessRun, verdict: Verdict): void {
  context.log(
    `  ${rateText(run.rate)}: produce → Redis p50/p99 ${Math.round(run.redis.overall.p50)}/${Math.round(run.redis.overall.p99)} ms, ` +
      `→ Gold p50/p99 ${Math.round(run.gold.overall.p50)}/${Math.round(run.gold.overall.p99)} ms: ` +
      (verdict.sustained ? "sustained" : `not sustained (${verdict.reasons.join("; ")})`),
  );
}

/** Figures of one fixed-rate run: each measured window is one "run" of the median. */
function addRateFigures(context: BenchContext, run: FreshnessRun): void {
  const { report } = context;
  const targets = TARGETS[run.rate] ?? {};
  const behindNote = {
    note: "path fell behind: lower bound (records not done count at their latency so far)",
  };
  for (const [path, reply, caughtUp, title, target] of [
    ["redis", run.redis, run.caughtUp.redis, "Redis apply", targets.redisP99],
    ["gold", run.gold, run.caughtUp.gold, "Gold commit", targets.goldP99],
  ] as const) {
    for (const q of ["p50", "p99"] as const) {
      report.add({
        id: `mixed.r${run.rate}.${path}_${q}`,
        part: PART,
        label: `both paths at ${rateText(run.rate)}: produce → ${title} ${q}`,
        unit: "ms",
        better: "lower",
        ...(q === "p99" && target !== undefined ? { goal: target[0], must: target[1] } : {}),
        runs: reply.windows.map((window) => window[q]),
        ...(caughtUp ? {} : behindNote),
      });
    }
  }
  report.add({
    id: `mixed.r${run.rate}.achieved_rate`,
    part: PART,
    label: `both paths at ${rateText(run.rate)}: achieved produce rate`,
    unit: "events/s",
    better: "higher",
    runs: [run.achievedRate],
  });
}

export const mixedPart: BenchPart = {
  name: PART,
  description:
    "both paths at fixed rates (produce → Redis and → Gold p50/p99), then the highest rate both sustain with Gold p99 ≤ 2 s",
  async run(context) {
    const { settings, report } = context;
    const search = new RateSearch({
      min: settings.mixedSearchMin,
      max: settings.mixedSearchMax,
      step: settings.mixedSearchStep,
    });
    const runs: Record<string, unknown>[] = [];
    let index = 0;
    const measure = async (rate: number, measuredSeconds: number, windows: number) => {
      index += 1;
      const run = await runFreshness(context, {
        rate,
        warmupSeconds: settings.freshnessWarmupSeconds,
        measuredSeconds,
        windows,
        name: `mixed-${index}-${rate}`,
      });
      const verdict = verdictOf(run);
      logVerdict(context, run, verdict);
      search.record(rate, verdict.sustained);
      runs.push({ ...run.detail, sustained: verdict.sustained, not_sustained_because: verdict.reasons });
      return run;
    };

    for (const rate of settings.mixedRates) {
      const run = await measure(rate, settings.mixedSeconds, settings.freshnessWindows);
      addRateFigures(context, run);
      report.notes.push(...fellBehindNotes(`${PART} at ${rateText(rate)}`, run));
    }

    if (settings.mixedSearch) {
      context.log(
        `searching the highest rate both paths sustain with Gold p99 ≤ ${GOLD_P99_LIMIT_MS} ms: ${rateText(settings.mixedSearchMin)} to ${rateText(settings.mixedSearchMax)}, step ${rateText(settings.mixedSearchStep)}, ${settings.mixedSearchSeconds} s per step`,
      );
      for (let rate = search.next(); rate !== undefined; rate = search.next()) {
        await measure(rate, settings.mixedSearchSeconds, 1);
      }
      const { sustained, failed } = search.result();
      const where =
        sustained === null
          ? `nothing from ${rateText(settings.mixedSearchMin)} up was sustained: lower --mixed-search-min`
          : failed === null
            ? `${rateText(sustained)} (the search's maximum) was sustained: raise --mixed-search-max`
            : `${rateText(sustained)} sustained, ${rateText(failed)} not`;
      report.add({
        id: "mixed.highest_sustained_rate",
        part: PART,
        label: `highest rate both paths sustain with Gold p99 ≤ ${GOLD_P99_LIMIT_MS.toLocaleString("en-US")} ms (step ${rateText(settings.mixedSearchStep)})`,
        unit: "events/s",
        better: "higher",
        goal: SUSTAINED_TARGET[0],
        must: SUSTAINED_TARGET[1],
        runs: [sustained ?? Number.NaN],
        note: where,
      });
      report.notes.push(`${PART}: highest rate both paths sustain with Gold p99 ≤ 2 s: ${where}`);
      report.detail(PART, "search", {
        min: settings.mixedSearchMin,
        max: settings.mixedSearchMax,
        step: settings.mixedSearchStep,
        measured_seconds_per_step: settings.mixedSearchSeconds,
        gold_p99_limit_ms: GOLD_P99_LIMIT_MS,
        ...search.result(),
      });
    }
    report.detail(PART, "runs", runs);
  },
};
