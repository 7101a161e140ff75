import type { BudgetMode } from "./contract.js";
import { decideServing } from "./spend.js";

/**
 * Why a reservation is not granted. `paused`, `no_budget` and `budget_exhausted` are the serving decision's
 * reasons (decideServing); `insufficient_budget`: the advertiser serves but `maxCostMicros` does not fit next
 * to its net spend and outstanding reservations; `unknown`: no state for the advertiser (fail closed);
 * `unavailable`: the real-time state is lost or being rebuilt, or reservations lost with it may still settle.
 */
export const RESERVATION_REFUSALS = [
  "paused",
  "no_budget",
  "budget_exhausted",
  "insufficient_budget",
  "unknown",
  "unavailable",
  "ahead_of_pace",
] as const;
export type ReservationRefusal = (typeof RESERVATION_REFUSALS)[number];

/** What the admission rule reads of an advertiser's real-time state. Money in integer micros. */
export interface ReservationState {
  readonly mode: BudgetMode;
  readonly paused: boolean;
  /** null: no budget was ever set. */
  readonly budgetMicros: number | null;
  /** Billable net of the current period. */
  readonly netMicros: number;
  /** Sum of maxCostMicros of the outstanding (granted, neither settled nor released nor expired) reservations. */
  readonly reservedMicros: number;
  /**
   * What pacing allows spent by now (decidePacing's allowedMicros at the tracker's last evaluation, `_pace_allowed`
   * in the hash); null or absent: no pacing (asap).
   */
  readonly paceAllowedMicros?: number | null;
}

export type ReservationDecision =
  | { readonly granted: true; readonly reason: null }
  | { readonly granted: false; readonly reason: ReservationRefusal };

const GRANTED: ReservationDecision = { granted: true, reason: null };
const REFUSED: Readonly<Record<ReservationRefusal, ReservationDecision>> = Object.freeze({
  paused: { granted: false, reason: "paused" },
  no_budget: { granted: false, reason: "no_budget" },
  budget_exhausted: { granted: false, reason: "budget_exhausted" },
  insufficient_budget: { granted: false, reason: "insufficient_budget" },
  unknown: { granted: false, reason: "unknown" },
  unavailable: { granted: false, reason: "unavailable" },
  ahead_of_pace: { granted: false, reason: "ahead_of_pace" },
});

/**
 * THE admission rule (reserve.lua implements it; a test holds the script to it; the oracle and the overspend
 * bench use it). `observe`: the serving decision (decideServing) alone, nothing is accounted. `hard_cap`:
 * granted only if `net + outstanding reservations + maxCost <= budget`, so the clicks of every granted
 * reservation fit under the budget together, whatever order they settle in.
 * Pacing composes with both: net >= the pace allowance refuses `ahead_of_pace`, and in hard_cap a reservation
 * that fits the budget but not the pace allowance (net + outstanding + maxCost > allowed) is refused
 * `ahead_of_pace` too.
 * `maxCostMicros` is a positive safe integer (callers validate it). Pure; allocates nothing.
 */
export function mayReserve(state: ReservationState, maxCostMicros: number): ReservationDecision {
  const serving = decideServing({
    periodNetMicros: state.netMicros,
    budgetMicros: state.budgetMicros,
    paused: state.paused,
  });
  if (serving.reason !== null) return REFUSED[serving.reason];
  const paceAllowed = state.paceAllowedMicros ?? null;
  if (paceAllowed !== null && state.netMicros >= paceAllowed) return REFUSED.ahead_of_pace;
  if (state.mode !== "hard_cap") return GRANTED;
  const committed = state.netMicros + state.reservedMicros + maxCostMicros;
  if (committed > (state.budgetMicros as number)) return REFUSED.insufficient_budget;
  if (paceAllowed !== null && committed > paceAllowed) return REFUSED.ahead_of_pace;
  return GRANTED;
}

/**
 * Budget left for new reservations: `budget − net − outstanding` (hard_cap) or `budget − net` (observe), never
 * below 0; null without a budget.
 */
export function reservableMicros(state: ReservationState): number | null {
  const budget = state.budgetMicros;
  if (budget === null) return null;
  const used = state.netMicros + (state.mode === "hard_cap" ? state.reservedMicros : 0);
  return Math.max(0, budget - used);
}

/**
 * Whether a reservation has expired: its expiry (`reserved at + ttlMs`, Redis time) lies before the event-time
 * watermark the tracker has applied, i.e. every click that could carry it (clicks reach the log within the
 * TTL) has been applied already. Judged by the log, never by the wall clock: a paused or lagging tracker
 * keeps reservations outstanding.
 */
export function reservationExpired(expiresAtMs: number, appliedWatermarkMs: number): boolean {
  return expiresAtMs < appliedWatermarkMs;
}

/** How far one partition of the topic has been applied, as the reservation sweep reads it. */
export interface AppliedPartition {
  readonly partition: number;
  /** The partition's log end offset, read after `checkedAtMs`. */
  readonly logEndOffset: number;
  /** Next offset to apply (the tracker's recorded position); null when nothing was applied yet. */
  readonly appliedOffset: number | null;
  /** Newest record timestamp applied (epoch ms); null when none is recorded. */
  readonly watermarkMs: number | null;
}

/**
 * The event-time watermark the tracker has applied across the whole topic (reservationExpired compares with
 * it), or null when it is unknown (then nothing expires). Per partition: a partition applied up to its log
 * end, as read after `checkedAtMs`, holds every record appended before that instant, so its watermark is at
 * least `checkedAtMs` (idle partitions do not hold expiry back); else the newest record timestamp applied. The
 * topic's is the lowest: a reservation's click may sit in any partition. Record timestamps are the producers'
 * (CreateTime), so producer clocks must not run ahead of the broker's (see docs/realtime.md).
 */
export function appliedWatermark(
  partitions: readonly AppliedPartition[],
  checkedAtMs: number,
): number | null {
  if (partitions.length === 0) return null;
  let lowest = Number.POSITIVE_INFINITY;
  for (const p of partitions) {
    const caughtUp = p.logEndOffset === 0 || (p.appliedOffset !== null && p.appliedOffset >= p.logEndOffset);
    let watermark = p.watermarkMs;
    if (caughtUp) watermark = Math.max(watermark ?? checkedAtMs, checkedAtMs);
    if (watermark === null) return null;
    if (watermark < lowest) lowest = watermark;
  }
  return lowest;
}
