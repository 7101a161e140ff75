import { supersedesSetting } from "./budget-calendar.js";
import type { BudgetMode } from "./contract.js";

/**
 * THE billing clamp (both stores and the oracle apply it; Lua and SQL are tested to agree): how much of a
 * non-duplicate click's net amount is billable, given the advertiser's budget mode and budget in force at
 * the click's place in the log and what is already billable in the click's budget period.
 *
 * - `observe`: all of it (the budget only decides can_serve; spend beyond it is overspend).
 * - `hard_cap`: as much as still fits under the budget, `min(net, max(0, budget − periodBillable))`, so a
 *   period's billable net never grows past the budget; no budget counts as 0 (nothing billable, as no budget
 *   means "do not serve"). The rest of the click is over_cap: measured in gross and Gold's over_cap_spend,
 *   never billed.
 * - A net amount <= 0 (a refund; the event contract has none today) is billable as it is and never clamped:
 *   it lowers the period's billable net in either mode and frees room under the cap for later clicks.
 *
 * Lowering a hard_cap budget below what is already billable bills nothing more in the period; it never
 * un-bills clicks already billed. The outcome depends only on the log (partition order), never on when a
 * store applies it. Pure integer arithmetic on safe-integer micros; allocates nothing.
 */
export function billableMicros(
  mode: BudgetMode,
  budgetMicros: number | null,
  periodBillableMicros: number,
  netMicros: number,
): number {
  if (mode !== "hard_cap" || netMicros <= 0) return netMicros;
  const room = (budgetMicros ?? 0) - periodBillableMicros;
  if (room <= 0) return 0;
  return Math.min(room, netMicros);
}

/** The budget mode an explicit budget update set, with the event time that orders it. */
export interface ModeObservation {
  readonly mode: BudgetMode;
  readonly eventTimeMs: number;
}

/**
 * Whether `candidate` replaces `current` as the mode in force: the later event time wins, and on equal
 * event times the later record in partition order (callers feed observations in partition order). The
 * budget precedence rule among explicit budgets (supersedesBudget), which are the only events that set a
 * mode. Without any observation the mode is `observe`.
 */
export function supersedesMode(current: ModeObservation | null, candidate: ModeObservation): boolean {
  return supersedesSetting(current, candidate);
}

/** The mode in force after `observations` (given in partition order): `observe` when there is none. */
export function modeInForce(observations: Iterable<ModeObservation>): BudgetMode {
  let best: ModeObservation | null = null;
  for (const observation of observations) if (supersedesMode(best, observation)) best = observation;
  return best?.mode ?? "observe";
}
