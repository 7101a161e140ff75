import type { ParsedEvent, ServingDecision } from "./contract.js";
import { CoreError } from "./errors.js";
import { windowStartOf } from "./time-buckets.js";

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
 * Contribution of one ad_click that is NOT a duplicate (callers deduplicate first with clickDedupKey).
 * null when it is not a click or cannot be attributed (no advertiserId) or bucketed (no event time).
 */
export function spendContribution(event: ParsedEvent): SpendContribution | null {
  if (event.eventType !== "ad_click" || event.advertiserId === null || event.eventTimeMs === null)
    return null;
  const gross = event.amountMicros ?? 0;
  return {
    advertiserId: event.advertiserId,
    advertiser: event.advertiser,
    eventTimeMs: event.eventTimeMs,
    windowStartMs: windowStartOf(event.eventTimeMs),
    grossMicros: gross,
    netMicros: event.isValid ? gross : 0,
    valid: event.isValid,
  };
}

export interface BudgetObservation {
  readonly advertiserId: string;
  readonly budgetMicros: number;
  readonly eventTimeMs: number;
}

/**
 * A budget the advertiser set, seen on a valid budget_update or on a valid click carrying budget_value
 * (the seed's producer sends the current budget on every click). Invalid events (late, future, malformed
 * fields) never move the budget. The budget in force is the latest observation by event time; on equal
 * event times the later one in partition order wins. Callers skip duplicates (see clickDedupKey).
 */
export function budgetObservation(event: ParsedEvent): BudgetObservation | null {
  if (
    !event.isValid ||
    event.budgetMicros === null ||
    event.advertiserId === null ||
    event.eventTimeMs === null
  ) {
    return null;
  }
  return {
    advertiserId: event.advertiserId,
    budgetMicros: event.budgetMicros,
    eventTimeMs: event.eventTimeMs,
  };
}

/**
 * Whether `candidate` replaces `current` as the budget in force: later event time, or equal event time and
 * later in partition order (callers feed observations in partition order, so "equal" means "replace").
 */
export function supersedesBudget(current: BudgetObservation | null, candidate: BudgetObservation): boolean {
  return current === null || candidate.eventTimeMs >= current.eventTimeMs;
}

/**
 * The deduplication key of a click: `<advertiserId length>:<advertiserId>:<clickId>`, or null when the event
 * takes no part in deduplication (not an ad_click, or no usable click_id or advertiserId).
 * The first record with a key (in partition order) counts; every later one is a duplicate whatever its own
 * validity or the first one's. The key is scoped to the advertiser: that is the only scope both stores can
 * enforce identically (Redis keeps a set per advertiser; records are keyed, so partitioned, by advertiser_id).
 * The length prefix makes the key unambiguous whatever characters the ids contain.
 */
export function clickDedupKey(event: ParsedEvent): string | null {
  if (event.eventType !== "ad_click" || event.clickId === null || event.advertiserId === null) return null;
  return `${event.advertiserId.length}:${event.advertiserId}:${event.clickId}`;
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
