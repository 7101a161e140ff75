import type { BudgetMode, BudgetPeriod, BudgetSource, PacingMode } from "@adpipe/core";

/**
 * What the tracker applies per Kafka record, after @adpipe/core has parsed and classified it.
 * Only records that can change an advertiser's state become SpendRecords; rejected payloads and
 * events without an advertiser do not (they still advance the consumer offsets).
 */
export interface SpendRecord {
  readonly partition: number;
  /** Kafka offset of the record. */
  readonly offset: number;
  /** Kafka record timestamp (epoch ms): the reference clock of the pipeline. */
  readonly timestampMs: number;
  readonly advertiserId: string;
  /** A click's contribution to period spend; null for budget updates and unbucketable clicks. */
  readonly spend: SpendContribution | null;
  /** A budget observation (budget_update, or budget_value on a click); supersedesBudget decides which rules. */
  readonly budget: BudgetObservation | null;
}

export interface SpendContribution {
  /** Event time (epoch ms): selects the budget period the spend belongs to. */
  readonly eventTimeMs: number;
  /** The click_id dedup key; null when the click has none (it cannot be a duplicate). */
  readonly dedupKey: string | null;
  /**
   * The admission reservation the click settles (EventEffect.reservationId: its reservation_id, else its
   * click_id); absent or null: the one named by dedupKey.
   */
  readonly reservationId?: string | null;
  readonly grossMicros: number;
  readonly netMicros: number;
  readonly clicks: number;
}

export interface BudgetObservation {
  readonly budgetMicros: number;
  readonly eventTimeMs: number;
  readonly source: BudgetSource;
  /** The budget mode an explicit observation sets (supersedesMode); absent: the mode stays as it is. */
  readonly mode?: BudgetMode | undefined;
  /** The budget period / IANA zone an explicit observation sets (clickPeriodOf); absent: it stays. */
  readonly budgetPeriod?: BudgetPeriod | undefined;
  readonly timeZone?: string | undefined;
  /** The pacing an explicit observation sets (like mode); absent: the pacing stays as it is. */
  readonly pacing?: PacingMode | undefined;
}

/** A period window as returned by budgetPeriodOf in @adpipe/core. */
export interface PeriodWindow {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** Maps an event time to its budget period (budgetPeriodOf with the tracker's period and time zone). */
export type PeriodOf = (timeMs: number) => PeriodWindow;
