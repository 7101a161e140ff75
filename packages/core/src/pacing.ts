import { MS_PER_HOUR } from "./civil.js";
import type { PacingMode, ServingDecision } from "./contract.js";
import { CoreError } from "./errors.js";
import { decideServing, type ServingInput } from "./spend.js";

/** Default pacing tolerance: 5 % of the budget, in basis points (PACING_TOLERANCE_PCT). */
export const DEFAULT_PACING_TOLERANCE_BP = 500;
/** Hours in a traffic shape: one weight per hour since the start of the period's day, repeating every 24 h. */
export const SHAPE_HOURS = 24;
/** serve_fraction resolution: basis points (1 = 10000). */
export const SERVE_FRACTION_SCALE = 10_000;

export interface PacingInput {
  readonly pacing: PacingMode;
  /** Budget in force, a positive safe integer (micros). */
  readonly budgetMicros: number;
  /** Period-to-date billable net (micros). */
  readonly netMicros: number;
  /** The budget period [startMs, endMs) and the instant of the decision (epoch ms). */
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly nowMs: number;
  /** Tolerance above the target curve, basis points of the budget (0..10000). */
  readonly toleranceBp: number;
  /**
   * `shaped` only: SHAPE_HOURS non-negative integer weights (the advertiser's share of traffic per hour since the
   * period's start, repeating daily). null, or a shape without weight, falls back to `even`.
   */
  readonly shape?: readonly number[] | null;
}

export interface PacingDecision {
  /** Net spend at or beyond allowedMicros while budget is left: not served (reason ahead_of_pace). */
  readonly aheadOfPace: boolean;
  /** The target curve at nowMs: floor(budget x target fraction). */
  readonly targetMicros: number;
  /** What may be spent by nowMs: min(budget, target + floor(budget x toleranceBp / 10000)). */
  readonly allowedMicros: number;
  /**
   * Share of requests to serve, in basis points: 10000 at or below the target, falling linearly to 0 across the
   * tolerance band (0 at allowedMicros and beyond).
   */
  readonly serveFractionBp: number;
}

/**
 * The fraction (0..1) of the budget the target curve allows by `nowMs`. `even`: elapsed / length of the period.
 * `shaped`: the shape's cumulative weight up to nowMs over its weight across the whole period (the current hour
 * counted in proportion). Computed in doubles in a fixed order of operations that apply_slice.lua repeats
 * exactly (IEEE-754 arithmetic is the same in both), so both stores agree to the micro.
 */
export function pacingTargetFraction(
  pacing: PacingMode,
  periodStartMs: number,
  periodEndMs: number,
  nowMs: number,
  shape: readonly number[] | null = null,
): number {
  if (pacing === "asap") return 1;
  const length = periodEndMs - periodStartMs;
  if (length <= 0 || nowMs >= periodEndMs) return 1;
  if (nowMs <= periodStartMs) return 0;
  const elapsed = nowMs - periodStartMs;
  if (pacing === "shaped" && usableShape(shape)) {
    const total = shapeWeight(shape, length);
    if (total > 0) return Math.min(1, shapeWeight(shape, elapsed) / total);
  }
  return elapsed / length;
}

/** Whether a shape can drive `shaped` pacing: SHAPE_HOURS weights with some weight (else: `even`). */
export function usableShape(shape: readonly number[] | null | undefined): shape is readonly number[] {
  if (shape === null || shape === undefined || shape.length !== SHAPE_HOURS) return false;
  let total = 0;
  for (const weight of shape) total += weight;
  return total > 0;
}

/** Cumulative weight of the first `elapsedMs` of a period under a daily-repeating hourly shape. */
function shapeWeight(shape: readonly number[], elapsedMs: number): number {
  let day = 0;
  for (let h = 0; h < SHAPE_HOURS; h++) day += shape[h] as number;
  const hours = Math.floor(elapsedMs / MS_PER_HOUR);
  let weight = Math.floor(hours / SHAPE_HOURS) * day;
  const hourOfDay = hours % SHAPE_HOURS;
  for (let h = 0; h < hourOfDay; h++) weight += shape[h] as number;
  return weight + (shape[hourOfDay] as number) * ((elapsedMs - hours * MS_PER_HOUR) / MS_PER_HOUR);
}

/**
 * THE pacing rule (apply_slice.lua implements it, a property test holds the script to it; the oracle predicts
 * pacing decisions with it; reserve.lua refuses reservations beyond allowedMicros). `asap` never holds back.
 * Otherwise: target = floor(budget x targetFraction), allowed = min(budget, target + floor(budget x tolerance)),
 * ahead of pace when net >= allowed and net < budget (an exhausted budget is budget_exhausted, not pace).
 * Pure; throws CoreError invalid_pacing on inputs outside the contract.
 */
export function decidePacing(input: PacingInput): PacingDecision {
  const { budgetMicros: budget, netMicros: net, toleranceBp } = input;
  if (!Number.isSafeInteger(budget) || budget <= 0 || !Number.isSafeInteger(net))
    throw new CoreError("invalid_pacing", `budget ${budget} / net ${net} are not safe integers (budget > 0)`);
  if (!Number.isInteger(toleranceBp) || toleranceBp < 0 || toleranceBp > SERVE_FRACTION_SCALE)
    throw new CoreError("invalid_pacing", `tolerance ${toleranceBp} bp is outside 0..10000`);
  const fraction = pacingTargetFraction(
    input.pacing,
    input.periodStartMs,
    input.periodEndMs,
    input.nowMs,
    input.shape ?? null,
  );
  const target = Math.min(budget, Math.floor(budget * fraction));
  const allowed = Math.min(budget, target + Math.floor((budget * toleranceBp) / SERVE_FRACTION_SCALE));
  const aheadOfPace = input.pacing !== "asap" && net >= allowed && net < budget;
  return {
    aheadOfPace,
    targetMicros: target,
    allowedMicros: allowed,
    serveFractionBp: serveFraction(net, target, allowed),
  };
}

// Held back first: with no tolerance band (allowed = target) spend exactly at the target is held back, as
// apply_slice.lua decides it.
function serveFraction(net: number, target: number, allowed: number): number {
  if (net >= allowed) return 0;
  if (net <= target) return SERVE_FRACTION_SCALE;
  return Math.floor((SERVE_FRACTION_SCALE * (allowed - net)) / (allowed - target));
}

/** serve_fraction as the Redis hash and the API write it: "1", "0", or "0.dddd" (basis points). */
export function formatServeFraction(basisPoints: number): string {
  if (basisPoints >= SERVE_FRACTION_SCALE) return "1";
  if (basisPoints <= 0) return "0";
  return `0.${String(basisPoints).padStart(4, "0")}`;
}

/** Tolerance in basis points from a percentage setting (PACING_TOLERANCE_PCT, up to two decimals). */
export function toleranceBpOfPct(pct: number): number {
  if (!Number.isFinite(pct) || pct < 0 || pct > 100)
    throw new CoreError("invalid_pacing", `pacing tolerance ${pct} % is outside 0..100`);
  return Math.round(pct * 100);
}

/** A pacing an explicit budget observation set, at its event time. */
export interface PacingObservation {
  readonly pacing: PacingMode;
  readonly eventTimeMs: number;
}

/**
 * Whether `candidate` replaces `current` as the pacing in force: the later event time wins, on equal times the
 * later record (callers feed observations in partition order). The rule of the mode (supersedesMode), which
 * apply_slice.lua applies to `pacing`/`_pacing_ts`.
 */
export function supersedesPacing(current: PacingObservation | null, candidate: PacingObservation): boolean {
  return current === null || candidate.eventTimeMs >= current.eventTimeMs;
}

/** What a periodic sweep knows of an advertiser's hash before deciding to re-evaluate it. */
export interface SweepCandidate {
  /** The stored pacing ("asap", "even", "shaped"); null when never set (asap). */
  readonly pacing: string | null;
  /** Start (epoch ms) of the stored period; null when the hash has none yet. */
  readonly periodStartMs: number | null;
}

/**
 * Whether re-evaluating a hash at an instant of `window` (its advertiser's current period) can change anything:
 * its period is over (apply_slice.lua rolls a hash whose stored start is older than the current period's), or it
 * paces along a curve that moves with time (even, shaped; an unknown value counts as moving). Otherwise the
 * decision depends on spend, budget and pause alone, which only the writes that change them change
 * (decidePacedServing without a pace, or asap, does not read the clock), so a pacing sweep may skip the hash.
 */
export function sweepCanChangeServing(
  candidate: SweepCandidate,
  window: { readonly startMs: number },
): boolean {
  if (candidate.periodStartMs === null || window.startMs > candidate.periodStartMs) return true;
  return candidate.pacing !== null && candidate.pacing !== "asap";
}

/** The serving decision of a paced advertiser at an instant: decideServing's inputs plus the pacing window. */
export interface PacedServingInput extends ServingInput {
  /** null or absent: no pacing set (asap). */
  readonly pace?: Omit<PacingInput, "budgetMicros" | "netMicros"> | null;
}

export interface PacedServingDecision extends ServingDecision {
  /** Basis points of requests to serve (0 whenever canServe is false). */
  readonly serveFractionBp: number;
  /** What may be spent by now under pacing; null when the advertiser has no budget or paces asap. */
  readonly paceAllowedMicros: number | null;
}

/**
 * decideServing, then pacing: precedence paused, no_budget, budget_exhausted, ahead_of_pace. What the Redis hash
 * says (can_serve, reason, serve_fraction) after every apply_slice call, batch or sweep.
 */
export function decidePacedServing(input: PacedServingInput): PacedServingDecision {
  const base = decideServing(input);
  const pace = input.pace ?? null;
  if (!base.canServe || pace === null || pace.pacing === "asap") {
    return { ...base, serveFractionBp: base.canServe ? SERVE_FRACTION_SCALE : 0, paceAllowedMicros: null };
  }
  const decision = decidePacing({
    ...pace,
    budgetMicros: input.budgetMicros as number,
    netMicros: input.periodNetMicros,
  });
  if (decision.aheadOfPace) {
    return {
      canServe: false,
      reason: "ahead_of_pace",
      serveFractionBp: 0,
      paceAllowedMicros: decision.allowedMicros,
    };
  }
  return { ...base, serveFractionBp: decision.serveFractionBp, paceAllowedMicros: decision.allowedMicros };
}
