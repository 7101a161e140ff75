import { randomUUID } from "node:crypto";
import { type BudgetMode, type BudgetPeriod, microsToNumberString, type PacingMode } from "@adpipe/core";

export interface BudgetUpdateInput {
  readonly advertiserId: string;
  /** Display name; the seed's `advertiser` column. */
  readonly advertiser: string;
  readonly budgetMicros: number;
  /** The mode to set (`budget_mode`); undefined leaves the mode in force as it is (the field is omitted). */
  readonly budgetMode?: BudgetMode | undefined;
  /** The advertiser's budget period / IANA zone to set; undefined leaves the one in force (field omitted). */
  readonly budgetPeriod?: BudgetPeriod | undefined;
  readonly timeZone?: string | undefined;
  /** The pacing to set (`pacing`); undefined leaves the pacing in force as it is (the field is omitted). */
  readonly pacing?: PacingMode | undefined;
  readonly atMs: number;
}

export interface BuiltEvent {
  /** The event's click_id (budget updates carry one too: it is the event id both pipelines dedup on). */
  readonly eventId: string;
  /** JSON text as produced to the topic. */
  readonly json: string;
}

/**
 * A `budget_update` event in the seed's JSON shape, marked `"budget_source": "api"` so both pipelines record
 * where the budget came from (an explicit budget: click-carried budget_value never overrides it). budget_value is written as a JSON number with at
 * most 15 significant digits (budgets are capped far below that), which every JSON reader parses back
 * to the same decimal, so the pipelines read exactly the micros the API was given. The budget period is
 * per advertiser: `budget_period` and `time_zone` (like `budget_mode`) are written only when the request sets
 * them; absent, the pipelines keep the setting in force (the service-wide one for advertisers that never set it).
 */
export function budgetUpdateEvent(input: BudgetUpdateInput): BuiltEvent {
  const eventId = `budget-${randomUUID()}`;
  const event = {
    event_type: "budget_update",
    click_id: eventId,
    advertiser: input.advertiser,
    advertiser_id: input.advertiserId,
    budget_value: Number(microsToNumberString(input.budgetMicros)),
    budget_source: "api",
    ...(input.budgetMode === undefined ? {} : { budget_mode: input.budgetMode }),
    ...(input.budgetPeriod === undefined ? {} : { budget_period: input.budgetPeriod }),
    ...(input.timeZone === undefined ? {} : { time_zone: input.timeZone }),
    ...(input.pacing === undefined ? {} : { pacing: input.pacing }),
    timestamp: new Date(input.atMs).toISOString(),
  };
  return { eventId, json: JSON.stringify(event) };
}
