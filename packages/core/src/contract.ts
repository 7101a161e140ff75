/**
 * The event contract shared by both pipelines (warehouse and real-time).
 *
 * These types are the public API of @adpipe/core: the ingestor (Postgres) and the
 * budget-tracker (Redis) are written against them, so change them only together.
 * Money is always integer micro-units (1 unit = 1_000_000 micros) held in a JS number,
 * which is exact while |value| <= Number.MAX_SAFE_INTEGER (about 9e9 currency units).
 */

/** Error findings: any of these makes an event invalid (Silver `is_valid = false`, never billable). */
export const ERROR_CODES = [
  // Rejections: the payload cannot be read as an event object at all.
  "payload_too_large",
  "payload_empty",
  "invalid_utf8",
  "malformed_json",
  "not_an_object",
  // Findings on a readable event object.
  "unknown_event_type",
  "event_type_missing",
  "click_id_missing",
  "click_id_invalid",
  "advertiser_missing",
  "field_invalid",
  "field_too_long",
  "amount_missing",
  "amount_not_numeric",
  "amount_not_positive",
  "amount_too_large",
  "amount_too_precise",
  "budget_missing",
  "budget_not_numeric",
  "budget_negative",
  "budget_too_large",
  "timestamp_missing",
  "timestamp_invalid",
  "timestamp_in_future",
  "timestamp_too_late",
  // Added with the implementation: a non-zero budget_value smaller than half a micro-unit (it would round to 0).
  "budget_too_precise",
  // Added with per-advertiser calendars: a budget_update's budget_period / time_zone that is not one.
  "budget_period_invalid",
  "time_zone_invalid",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes that mean "not an event at all": the record lands in Bronze only, with this reason. */
export const REJECTION_CODES = [
  "payload_too_large",
  "payload_empty",
  "invalid_utf8",
  "malformed_json",
  "not_an_object",
] as const satisfies readonly ErrorCode[];
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Warnings: recorded on the row, the event stays valid. */
export const WARNING_CODES = ["advertiser_id_defaulted", "timestamp_naive_utc", "unknown_fields"] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export const EVENT_TYPES = ["ad_click", "budget_update"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const BUDGET_PERIODS = ["hour", "day", "month", "lifetime"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * Where a budget observation came from. `api`: a budget_update the pipeline's HTTP API published
 * (`"budget_source": "api"` on the event); `budget_update`: any other budget_update event; `click`: the
 * budget_value a click carries. api and budget_update are explicit budgets and outrank click-carried ones
 * (see supersedesBudget).
 */
export const BUDGET_SOURCES = ["api", "budget_update", "click"] as const;
export type BudgetSource = (typeof BUDGET_SOURCES)[number];

/**
 * How an advertiser's budget bounds billing. `observe` (the default): every valid click is billable and the
 * budget only decides can_serve. `hard_cap`: billing never exceeds the budget; the part of a click beyond it
 * is over_cap (see billableMicros). Set by explicit budget updates only (`budget_mode`).
 */
export const BUDGET_MODES = ["observe", "hard_cap"] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];

/**
 * How spend is spread over the budget period (docs/realtime.md, "Pacing"): `asap` serves while budget is left
 * (the default); `even` follows budget x elapsed fraction of the period; `shaped` follows the advertiser's own
 * hourly traffic shape. Set by explicit budget updates only (`pacing`); see decidePacing.
 */
export const PACING_MODES = ["asap", "even", "shaped"] as const;
export type PacingMode = (typeof PACING_MODES)[number];

/** Options for parseEvent. All times are epoch milliseconds, UTC. */
export interface ParseOptions {
  /**
   * The time the event is judged against for future-skew and lateness. Pipelines pass the
   * Kafka record timestamp (not the wall clock) so that a replay judges a record exactly as
   * the first pass did: this is what keeps reprocessing and both paths deterministic.
   */
  referenceTimeMs: number;
  /** Largest accepted click amount in micros. Default 1_000 units. */
  maxAmountMicros?: number;
  /** Events further than this in the future of referenceTimeMs are invalid. Default 5 min. */
  maxFutureSkewMs?: number;
  /** Events older than this before referenceTimeMs are invalid for spend (timestamp_too_late). Default 7 days. */
  latenessHorizonMs?: number;
  /** Payloads larger than this are rejected unparsed. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** Largest accepted budget_value in micros (budget_too_large above it). Default 1e9 units. */
  maxBudgetMicros?: number;
}

/** A record that could be read as an event object, valid or not. */
export interface ParsedEvent {
  readonly ok: true;
  /** null when event_type is missing or unknown (then errors has a code for it). */
  readonly eventType: EventType | null;
  readonly clickId: string | null;
  /**
   * `reservation_id` of an ad_click: the admission reservation its spend settles (docs/realtime.md
   * "Reservations"); null when absent (the click then settles the reservation named by its click_id).
   * Optional in the type for events built by hand; parseEvent always sets it.
   */
  readonly reservationId?: string | null;
  readonly advertiser: string | null;
  /** The budget key: advertiser_id, or advertiser when advertiser_id is absent (warning advertiser_id_defaulted). */
  readonly advertiserId: string | null;
  readonly adId: string | null;
  /** Exact micros, or null when absent or unusable. */
  readonly amountMicros: number | null;
  readonly budgetMicros: number | null;
  /**
   * Where budgetMicros comes from: `click` on an ad_click, `api` or `budget_update` on a budget_update (its
   * `budget_source` field); null when budgetMicros is null or the event type is unknown.
   */
  readonly budgetSource: BudgetSource | null;
  /**
   * The budget mode a valid-shaped budget_update sets (`budget_mode`); undefined when the event sets none
   * (absent or null, or any click): the mode in force then stays as it was.
   */
  readonly budgetMode?: BudgetMode | undefined;
  /**
   * The budget period a valid-shaped budget_update sets (`budget_period`); undefined: the period in force
   * stays (see clickPeriodOf). Like budgetMode, never read on clicks.
   */
  readonly budgetPeriod?: BudgetPeriod | undefined;
  /** The IANA time zone a budget_update sets (`time_zone`, canonical name); undefined: the zone stays. */
  readonly timeZone?: string | undefined;
  /** The pacing a valid-shaped budget_update sets (`pacing`); undefined when it sets none. */
  readonly pacing?: PacingMode | undefined;
  /** Event time, epoch ms UTC; null when missing or unreadable. */
  readonly eventTimeMs: number | null;
  readonly errors: readonly ErrorCode[];
  readonly warnings: readonly WarningCode[];
  /** errors.length === 0: the Silver `is_valid` flag. */
  readonly isValid: boolean;
}

/** A record that is not an event object: it is kept in Bronze with this reason and nothing else. */
export interface RejectedEvent {
  readonly ok: false;
  readonly reason: RejectionCode;
  /** Human-readable detail for operators (never contains more than a short prefix of the payload). */
  readonly detail: string;
}

export type ParseResult = ParsedEvent | RejectedEvent;

/** UTC buckets of one event time (Gold windows and Silver partition columns). */
export interface TimeBuckets {
  /** Hour window [windowStartMs, windowEndMs). spend_hour = window_start. */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly spendHourMs: number;
  readonly spendDayMs: number;
  readonly spendMonthMs: number;
  readonly ingestYear: number;
  readonly ingestMonth: number;
  readonly ingestDay: number;
  readonly ingestHour: number;
}

/** Why an advertiser is not served. */
export const NOT_SERVING_REASONS = ["budget_exhausted", "no_budget", "paused", "ahead_of_pace"] as const;
export type NotServingReason = (typeof NOT_SERVING_REASONS)[number];

export interface ServingDecision {
  readonly canServe: boolean;
  readonly reason: NotServingReason | null;
}
