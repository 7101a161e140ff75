import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Summary, summarize } from "./stats.js";

/** Whether more of a figure is better (throughput) or worse (latency, memory, overspend). */
export type Better = "higher" | "lower";

export interface FigureInput {
  /** Stable id, e.g. `warehouse.events_per_s`; also how ceilings are referenced. */
  readonly id: string;
  readonly part: string;
  readonly label: string;
  readonly unit: string;
  /** One value per run; the report shows their median, min and max. */
  readonly runs: readonly number[];
  readonly better?: Better;
  /** Goal and hard floor (or ceiling, for `better: "lower"`) from the issue. */
  readonly goal?: number;
  readonly must?: number;
  /** Id of the figure that bounds this one: the report prints median / ceiling median. */
  readonly ceilingId?: string;
  readonly note?: string;
}

export type FigureStatus = "met" | "below goal" | "FAILS must" | "";

export interface Figure extends FigureInput, Summary {
  ratioToCeiling: number | null;
  status: FigureStatus;
}

function statusOf(figure: FigureInput, median: number): FigureStatus {
  if (figure.goal === undefined && figure.must === undefined) return "";
  if (!Number.isFinite(median)) return "FAILS must";
  const ok = (limit: number) => (figure.better === "lower" ? median <= limit : median >= limit);
  if (figure.must !== undefined && !ok(figure.must)) return "FAILS must";
  if (figure.goal !== undefined && !ok(figure.goal)) return "below goal";
  return "met";
}

/** Formats a number for the table: thousands separators, 3 significant digits below 100. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 1) return value.toPrecision(3);
  if (abs === 0) return "0";
  return value.toPrecision(2);
}

/** Everything one `npm run bench` measured: figures, per-part details, machine info, parameters. */
export class BenchReport {
  readonly figures: Figure[] = [];
  readonly details: Record<string, Record<string, unknown>> = {};
  readonly startedAt = new Date();
  machine: Record<string, unknown> = {};
  parameters: Record<string, unknown> = {};
  notes: string[] = [];
  durationSeconds: number | null = null;

  add(input: FigureInput): Figure {
    const summary = summarize(input.runs);
    const figure: Figure = {
      ...input,
      ...summary,
      ratioToCeiling: null,
      status: statusOf(input, summary.median),
    };
    const existing = this.figures.findIndex((f) => f.id === input.id);
    if (existing >= 0) this.figures[existing] = figure;
    else this.figures.push(figure);
    return figure;
  }

  /** Free-form details of a part (per-run breakdowns, profiles, settings) for the JSON report. */
  detail(part: string, key: string, value: unknown): void {
    this.details[part] ??= {};
    (this.details[part] as Record<string, unknown>)[key] = value;
  }

  figure(id: string): Figure | undefined {
    return this.figures.find((f) => f.id === id);
  }

  /** Ratios to ceilings, computed once every part ran (a ceiling may be measured after its figure). */
  resolveCeilings(): void {
    for (const figure of this.figures) {
      const ceiling = figure.ceilingId === undefined ? undefined : this.figure(figure.ceilingId);
      figure.ratioToCeiling =
        ceiling !== undefined && ceiling.median > 0 && Number.isFinite(figure.median)
          ? figure.median / ceiling.median
          : null;
    }
  }

  table(): string {
    this.resolveCeilings();
    const header = ["part", "figure", "median", "min", "max", "unit", "vs ceiling", "goal / must", "status"];
    const rows = this.figures.map((f) => [
      f.part,
      f.label,
      formatNumber(f.median),
      formatNumber(f.min),
      formatNumber(f.max),
      f.unit,
      f.ratioToCeiling === null
        ? ""
        : `${(f.ratioToCeiling * 100).toFixed(f.ratioToCeiling < 0.1 ? 1 : 0)} %`,
      [f.goal, f.must]
        .map((limit) =>
          limit === undefined ? "-" : `${f.better === "lower" ? "≤" : "≥"} ${formatNumber(limit)}`,
        )
        .join(" / ")
        .replace(/^- \/ -$/, ""),
      f.status,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const numeric = new Set([2, 3, 4, 6]);
    const line = (cells: readonly string[]) =>
      cells
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd();
    return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
  }

  toJSON(): Record<string, unknown> {
    this.resolveCeilings();
    return {
      started_at: this.startedAt.toISOString(),
      duration_seconds: this.durationSeconds,
      machine: this.machine,
      parameters: this.parameters,
      notes: this.notes,
      figures: this.figures.map((f) => ({
        id: f.id,
        part: f.part,
        label: f.label,
        unit: f.unit,
        median: f.median,
        min: f.min,
        max: f.max,
        runs: f.runs,
        better: f.better ?? null,
        goal: f.goal ?? null,
        must: f.must ?? null,
        ceiling: f.ceilingId ?? null,
        ratio_to_ceiling: f.ratioToCeiling,
        status: f.status || null,
        note: f.note ?? null,
      })),
      details: this.details,
    };
  }

  /** Writes `<dir>/<timestamp>.json` and returns its path. */
  async write(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const stamp = this.startedAt.toISOString().replace(/[:.]/g, "-");
    const path = join(dir, `${stamp}.json`);
    await writeFile(path, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
    return path;
  }
}
