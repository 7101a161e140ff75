import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../../support/index.js";

/** One injected fault: what, when it started and ended, and when the affected path worked again. */
export interface FaultRecord {
  readonly kind: string;
  readonly target: string;
  readonly startedAtMs: number;
  /** When the fault was over (process restarted, Postgres reachable again, broker back, …). */
  endedAtMs: number;
  /** First moment after endedAtMs at which the path committed new progress (or had nothing left to do). */
  recoveredAtMs: number | null;
  readonly detail?: string;
}

/** Money the stores lack (lost) or have twice (double) relative to the oracle, per store, gross and net. */
export interface MoneyDiff {
  readonly lostMicros: number;
  readonly doubleMicros: number;
}

export interface StoreCheck extends MoneyDiff {
  readonly store: "bronze" | "silver" | "gold" | "redis";
  /** Rows (or hashes) compared. */
  readonly compared: number;
  /** Any difference at all (counts, flags, money), first few spelled out. */
  readonly mismatches: number;
  readonly examples: readonly string[];
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  /** Records in the topic (what both paths consumed). */
  readonly events: number;
  readonly faults: readonly FaultRecord[];
  readonly checks: readonly StoreCheck[];
  readonly lostMicros: number;
  readonly doubleMicros: number;
  /** Largest lag seen (records behind the topic end), per path. */
  readonly maxLag: { readonly ingestor: number; readonly tracker: number };
  /** Longest time from the end of a fault to the path committing again, ms (null: no fault). */
  readonly recoveryMs: number | null;
  readonly durationMs: number;
  /** Scenario-specific figures (RSS slopes, lookups answered, payloads tried, …). */
  readonly extra: Record<string, unknown>;
}

export function recoveryMs(faults: readonly FaultRecord[]): number | null {
  const times = faults
    .filter((fault) => fault.recoveredAtMs !== null)
    .map((fault) => (fault.recoveredAtMs as number) - fault.endedAtMs);
  return times.length === 0 ? null : Math.max(...times);
}

export function totalMoney(checks: readonly StoreCheck[]): MoneyDiff {
  return checks.reduce(
    (sum, check) => ({
      lostMicros: sum.lostMicros + check.lostMicros,
      doubleMicros: sum.doubleMicros + check.doubleMicros,
    }),
    { lostMicros: 0, doubleMicros: 0 },
  );
}

const seconds = (ms: number | null): string => (ms === null ? "-" : `${(ms / 1000).toFixed(1)} s`);

/** The summary table printed at the end of the run. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const header = [
    "scenario",
    "events",
    "faults",
    "lost µ",
    "double µ",
    "max lag (ing/trk)",
    "recovery",
    "took",
  ];
  const rows = results.map((r) => [
    r.scenario,
    r.events.toLocaleString("en-US"),
    String(r.faults.length),
    String(r.lostMicros),
    String(r.doubleMicros),
    `${r.maxLag.ingestor.toLocaleString("en-US")} / ${r.maxLag.tracker.toLocaleString("en-US")}`,
    seconds(r.recoveryMs),
    seconds(r.durationMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export const RESULTS_FILE = join(REPO_ROOT, ".cache", "test-results", "integrity.json");

export function writeResults(
  results: readonly ScenarioResult[],
  meta: Record<string, unknown>,
  file: string = RESULTS_FILE,
): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...meta, scenarios: results }, null, 2)}\n`);
}
