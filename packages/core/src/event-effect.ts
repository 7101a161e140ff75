import type { BudgetMode, BudgetPeriod, BudgetSource, PacingMode, ParsedEvent } from "./contract.js";
import { windowStartOf } from "./time-buckets.js";

/**
 * What one parsed event does to an advertiser's spend and budget, by THE spend rules: the real-time
 * tracker, the warehouse and the oracle all read events through eventEffect, so a rule changes here and
 * nowhere else. A mutable record that the caller reuses from event to event: the tracker's per-event path
 * allocates nothing. eventEffect writes every field on every call, so a reused record carries nothing over.
 *
 * The effect is that of a NON-duplicate event: callers deduplicate first, by dedupClickId per advertiser
 * (see clickDedupKeyOf). A duplicate click adds only to its hour window's duplicate count and never moves
 * the budget.
 */
export class EventEffect {
  /** The advertiser the event is attributed to (advertiser_id, or advertiser as a fallback); null: none. */
  advertiserId: string | null = null;
  /** The display name on the event (null when only advertiser_id was sent). */
  advertiser: string | null = null;
  /**
   * The click_id that deduplicates this click within its advertiser; null when the event takes no part in
   * deduplication (not an ad_click, or no usable click_id or advertiserId). Set even without an event time.
   */
  dedupClickId: string | null = null;
  /**
   * The reservation an attributed ad_click settles: its reservation_id, else its click_id; null for other
   * events (and clicks without either). Settling releases the reservation; the spend is billed as always.
   */
  reservationId: string | null = null;

  /** Event time (epoch ms) when the event spends or observes a budget, else 0. */
  eventTimeMs = 0;

  /**
   * Whether the event is a click that counts in an hour window: an ad_click with an advertiser and an event
   * time, valid or not (invalid traffic is measured as gross). When false the spend fields below are 0.
   */
  spends = false;
  /** Start of the UTC hour window of the event time (Gold's key with advertiserId). */
  windowStartMs = 0;
  /** The click's amount, valid or not (0 when it had no usable amount). */
  grossMicros = 0;
  /** The amount of a valid click only: what is billable and counts against the budget. */
  netMicros = 0;
  /** Whether the click is valid (it counts as a valid click; otherwise as an invalid one). */
  valid = false;
  /** What the event adds to the period's click count: 1 per counted click, valid or not. */
  clicks = 0;

  /**
   * Where the budget this event states comes from; null: the event observes no budget. Only valid events
   * observe one: a budget_update (source `api` or `budget_update`) or a click carrying budget_value
   * (source `click`). Which observation is in force is decided by supersedesBudget.
   */
  budgetSource: BudgetSource | null = null;
  /** The stated budget; 0 when budgetSource is null. */
  budgetMicros = 0;
  /**
   * The budget mode the event sets (an explicit budget observation carrying budget_mode; see
   * supersedesMode); null: the mode in force stays as it is. Billing by mode: billableMicros.
   */
  budgetMode: BudgetMode | null = null;
  /**
   * The budget period / IANA time zone the event sets (same observations as budgetMode; see clickPeriodOf);
   * null: that setting stays as it is.
   */
  budgetPeriod: BudgetPeriod | null = null;
  timeZone: string | null = null;
  /** The pacing the event sets (like budgetMode: explicit observations only); null: it stays as it is. */
  pacing: PacingMode | null = null;
}

/** Fills `out` with the effect of `event` (see EventEffect) and returns it. Allocates nothing. */
export function eventEffect(event: ParsedEvent, out: EventEffect): EventEffect {
  const advertiserId = event.advertiserId;
  const eventTimeMs = event.eventTimeMs;
  const isClick = event.eventType === "ad_click";
  const attributed = advertiserId !== null;
  const timed = attributed && eventTimeMs !== null;
  const spends = isClick && timed;
  const budgetSource = timed && event.isValid && event.budgetMicros !== null ? event.budgetSource : null;
  const grossMicros = spends ? (event.amountMicros ?? 0) : 0;

  out.advertiserId = advertiserId;
  out.advertiser = event.advertiser;
  out.dedupClickId = isClick && attributed ? event.clickId : null;
  out.reservationId = isClick && attributed ? (event.reservationId ?? event.clickId) : null;
  out.eventTimeMs = spends || budgetSource !== null ? (eventTimeMs as number) : 0;
  out.spends = spends;
  out.windowStartMs = spends ? windowStartOf(eventTimeMs as number) : 0;
  out.grossMicros = grossMicros;
  out.netMicros = event.isValid ? grossMicros : 0;
  out.valid = spends && event.isValid;
  out.clicks = spends ? 1 : 0;
  out.budgetSource = budgetSource;
  out.budgetMicros = budgetSource === null ? 0 : (event.budgetMicros as number);
  const explicit = budgetSource !== null && budgetSource !== "click";
  out.budgetMode = explicit ? (event.budgetMode ?? null) : null;
  out.budgetPeriod = explicit ? (event.budgetPeriod ?? null) : null;
  out.timeZone = explicit ? (event.timeZone ?? null) : null;
  out.pacing = explicit ? (event.pacing ?? null) : null;
  return out;
}

/**
 * The deduplication key of a click: `<advertiserId length>:<advertiserId>:<clickId>`, or null when the event
 * takes no part in deduplication. The first record with a key (in partition order) counts; every later one
 * is a duplicate whatever its own validity or the first one's. The key is scoped to the advertiser: that is
 * the only scope both stores can enforce identically (Redis keeps a set per advertiser; records are keyed,
 * so partitioned, by advertiser_id). The length prefix makes the key unambiguous whatever characters the
 * ids contain.
 */
export function clickDedupKeyOf(effect: EventEffect): string | null {
  const clickId = effect.dedupClickId;
  const advertiserId = effect.advertiserId;
  if (clickId === null || advertiserId === null) return null;
  return `${advertiserId.length}:${advertiserId}:${clickId}`;
}
