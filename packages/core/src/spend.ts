import type { BudgetSource, ParsedEvent, ServingDecision } from "./contract.js";
import { CoreError } from "./errors.js";
import { clickDedupKeyOf, EventEffect, eventEffect } from "./event-effect.js";

/**
 * What one non-duplicate click contributes to Gold and to the period state.
 * - gross: the amount of every non-duplicate click with a usable amount, valid or not (invalid traffic is
 *   measured, so an operator sees how much was refused);
 * - net: the amount of valid clicks only (what is billable and counts against the budget; the seed's definition).
 */
export interface SpendContribution {
  readonly advertiserId: string;
  /** The display name on this event (may be null when only advertiser_id was sent). */
  readonly advertiser: string | null;
  readonly eventTimeMs: number;
  /** Start of the UTC hour window (Gold's key with advertiserId). */
  readonly windowStartMs: number;
  readonly grossMicros: number;
  readonly netMicros: number;
  readonly valid: boolean;
}

/**
 * Contribution of one ad_click that is NOT a duplicate (callers deduplicate first with clickDedupKey), as an
 * object: EventEffect's spend fields. null when it is not a click or cannot be attributed (no advertiserId)
 * or bucketed (no event time).
 */
export function spendContribution(event: ParsedEvent): SpendContribution | null {
  return contributionOf(eventEffect(event, new EventEffect()));
}

/** The spend fields of an effect as a SpendContribution; null when the event does not spend. */
export function contributionOf(effect: EventEffect): SpendContribution | null {
  if (!effect.spends || effect.advertiserId === null) return null;
  return {
    advertiserId: effect.advertiserId,
    advertiser: effect.advertiser,
    eventTimeMs: effect.eventTimeMs,
    windowStartMs: effect.windowStartMs,
    grossMicros: effect.grossMicros,
    netMicros: effect.netMicros,
    valid: effect.valid,
  };
}

export interface BudgetObservation {
  readonly advertiserId: string;
  readonly budgetMicros: number;
  readonly eventTimeMs: number;
  readonly source: BudgetSource;
}

/**
 * A budget the advertiser's side stated, as an object: EventEffect's budget fields (a valid budget_update,
 * source `api` or `budget_update`, or a valid click carrying budget_value, source `click`). Invalid events
 * never move the budget. Which observation is in force is decided by supersedesBudget. Callers skip
 * duplicates (see clickDedupKey).
 */
export function budgetObservation(event: ParsedEvent): BudgetObservation | null {
  return observationOf(eventEffect(event, new EventEffect()));
}

/** The budget fields of an effect as a BudgetObservation; null when the event observes no budget. */
export function observationOf(effect: EventEffect): BudgetObservation | null {
  if (effect.budgetSource === null || effect.advertiserId === null) return null;
  return {
    advertiserId: effect.advertiserId,
    budgetMicros: effect.budgetMicros,
    eventTimeMs: effect.eventTimeMs,
    source: effect.budgetSource,
  };
}

/**
 * Explicit budgets (`api`, `budget_update`) are decisions; a click's budget_value is a copy of what the
 * click's producer believed the budget to be, possibly stale. Precedence rank: explicit 1, click 0.
 */
export function isExplicitBudget(source: BudgetSource): boolean {
  return source !== "click";
}

function budgetRank(source: BudgetSource): number {
  return source === "click" ? 0 : 1;
}

/**
 * THE budget precedence rule (both stores and the oracle apply it; Lua and SQL are tested to agree):
 * whether `candidate` replaces `current` as the budget in force.
 *  1. An explicit budget (api or budget_update) outranks any click-carried one, whatever their event times:
 *     once an explicit budget exists for the advertiser, budget_value on clicks no longer moves the budget.
 *  2. Within the same rank the later event time wins.
 *  3. On equal rank and event time the later record in partition order wins (callers feed observations in
 *     partition order, so "equal" means "replace").
 * So the budget in force at an instant is the latest explicit observation before it, or, while there is none,
 * the latest click-carried one. The outcome depends only on the set of observations and their partition
 * order, never on when a store happened to apply them: every replay of the log gives the same answer.
 */
export function supersedesBudget(current: BudgetObservation | null, candidate: BudgetObservation): boolean {
  if (current === null) return true;
  const rank = budgetRank(candidate.source) - budgetRank(current.source);
  if (rank !== 0) return rank > 0;
  return candidate.eventTimeMs >= current.eventTimeMs;
}

/**
 * The budget in force just before `beforeMs` (observations with event time < beforeMs; +Infinity = all), by
 * supersedesBudget over observations given in partition order; null when there is none.
 */
export function budgetInForce(
  observations: Iterable<BudgetObservation>,
  beforeMs: number = Number.POSITIVE_INFINITY,
): BudgetObservation | null {
  let best: BudgetObservation | null = null;
  for (const observation of observations) {
    if (observation.eventTimeMs < beforeMs && supersedesBudget(best, observation)) best = observation;
  }
  return best;
}

/** The deduplication key of a click (clickDedupKeyOf of its effect), or null when it takes no part in it. */
export function clickDedupKey(event: ParsedEvent): string | null {
  return clickDedupKeyOf(eventEffect(event, new EventEffect()));
}

export interface ServingInput {
  /** Period-to-date net spend (valid, non-duplicate clicks with event time in the budget period). */
  readonly periodNetMicros: number;
  /** Budget in force; null when the advertiser never set one. */
  readonly budgetMicros: number | null;
  readonly paused?: boolean;
}

const SERVING: ServingDecision = Object.freeze({ canServe: true, reason: null });
const PAUSED: ServingDecision = Object.freeze({ canServe: false, reason: "paused" });
const NO_BUDGET: ServingDecision = Object.freeze({ canServe: false, reason: "no_budget" });
const EXHAUSTED: ServingDecision = Object.freeze({ canServe: false, reason: "budget_exhausted" });

/**
 * The seed's rule: serve while period-to-date net spend < budget. A budget of 0, or no budget at all, means
 * "not serving" (reason no_budget): an advertiser who never set a budget is not given unlimited spend.
 * Precedence: paused, then no_budget, then budget_exhausted.
 */
export function decideServing(input: ServingInput): ServingDecision {
  assertMicros(input.periodNetMicros, "periodNetMicros");
  if (input.paused === true) return PAUSED;
  if (input.budgetMicros === null || input.budgetMicros === 0) return NO_BUDGET;
  assertMicros(input.budgetMicros, "budgetMicros");
  return input.periodNetMicros < input.budgetMicros ? SERVING : EXHAUSTED;
}

/** Spend beyond the budget in force: max(0, net − budget); with no budget every net micro is overspend. */
export function overspendMicros(periodNetMicros: number, budgetMicros: number | null): number {
  assertMicros(periodNetMicros, "periodNetMicros");
  if (budgetMicros === null) return Math.max(0, periodNetMicros);
  assertMicros(budgetMicros, "budgetMicros");
  return Math.max(0, periodNetMicros - budgetMicros);
}

function assertMicros(value: number, what: string): void {
  if (!Number.isSafeInteger(value))
    throw new CoreError("unsafe_integer", `${what} is not a safe integer: ${value}`);
}
