/** The pace chart's arithmetic, pure (no DOM): the advertiser's current period and the target fraction. */
import {
  type BudgetPeriod,
  budgetPeriodOf,
  type PacingMode,
  pacingTargetFraction,
  usableShape,
} from "@adpipe/core";

/** What the serving answer says about the advertiser's calendar (period id, and its own period and zone). */
export interface CalendarFields {
  readonly period: string | null;
  readonly budget_period?: string | null;
  readonly time_zone?: string | null;
}

/** The kind of a period from its id (docs/core.md): `2026-11-25` day, `2026-11-25T13…` hour, `2026-11` month. */
export function periodKindOfId(id: string): BudgetPeriod | null {
  if (id === "lifetime") return "lifetime";
  if (/^\d{4}-\d{2}-\d{2}T\d{2}/.test(id)) return "hour";
  if (/^\d{4}-\d{2}-\d{2}$/.test(id)) return "day";
  if (/^\d{4}-\d{2}$/.test(id)) return "month";
  return null;
}

/** The advertiser's current period: its own calendar where the API names it, else read from the period id. */
export function currentPeriod(
  s: CalendarFields,
  nowMs: number,
): { startMs: number; endMs: number; kind: BudgetPeriod } | null {
  const kind = (s.budget_period as BudgetPeriod | null | undefined) ?? periodKindOfId(s.period ?? "");
  if (kind === null || kind === "lifetime") return null;
  try {
    const window = budgetPeriodOf(nowMs, kind, s.time_zone ?? "UTC");
    return { startMs: window.startMs, endMs: window.endMs, kind };
  } catch {
    return null;
  }
}

export interface PeriodBounds {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The share of the budget the target curve allows by `atMs`: core's pacingTargetFraction (the tracker's rule).
 * `shape`: a `shaped` advertiser's traffic shape as the API serves it (`traffic_shape`); null or unusable (none
 * learnt yet) draws `even`, the curve shaped pacing then falls back to.
 */
export function targetFraction(
  pacing: PacingMode,
  period: PeriodBounds,
  atMs: number,
  shape: readonly number[] | null = null,
): number {
  return pacingTargetFraction(pacing, period.startMs, period.endMs, atMs, shape);
}

/** Whether the chart draws a shaped curve (else even): the pacing is shaped and the shape usable. */
export function drawsShape(pacing: PacingMode, shape: readonly number[] | null | undefined): boolean {
  return pacing === "shaped" && usableShape(shape);
}

/** The target at `atMs` in micros: floor(budget × fraction), as the tracker computes it. */
export function targetMicros(
  pacing: PacingMode,
  budgetMicros: number,
  period: PeriodBounds,
  atMs: number,
  shape: readonly number[] | null = null,
): number {
  return Math.min(budgetMicros, Math.floor(budgetMicros * targetFraction(pacing, period, atMs, shape)));
}

/** The target curve across the period: `samples` + 1 evenly spaced instants, from the start to the end. */
export function targetCurve(
  pacing: PacingMode,
  budgetMicros: number,
  period: PeriodBounds,
  samples: number,
  shape: readonly number[] | null = null,
): { atMs: number; micros: number }[] {
  const length = period.endMs - period.startMs;
  return Array.from({ length: samples + 1 }, (_, i) => {
    const atMs = i === samples ? period.endMs : period.startMs + Math.floor((length * i) / samples);
    return { atMs, micros: targetMicros(pacing, budgetMicros, period, atMs, shape) };
  });
}
