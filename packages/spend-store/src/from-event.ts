import { budgetObservation, clickDedupKey, type ParsedEvent, spendContribution } from "@adpipe/core";
import type { SpendRecord } from "./records.js";

export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
  /** Kafka record timestamp (epoch ms). */
  readonly timestampMs: number;
}

/**
 * What a parsed event does to the real-time state, by the rules of @adpipe/core: its spend contribution
 * (spendContribution; deduplicated later by click_id per advertiser and period, the scope of clickDedupKey)
 * and its budget observation (budgetObservation). null when it does neither (budget updates without a
 * valid budget, clicks without advertiser or event time, unknown event types...).
 * Redis `clicks` counts the non-duplicate clicks of the period, valid or not (the oracle's ServingState.clicks,
 * and the warehouse's period totals).
 */
export function spendRecordOf(event: ParsedEvent, position: RecordPosition): SpendRecord | null {
  const spend = spendContribution(event);
  const budget = budgetObservation(event);
  const advertiserId = spend?.advertiserId ?? budget?.advertiserId;
  if (advertiserId === undefined) return null;
  return {
    partition: position.partition,
    offset: position.offset,
    timestampMs: position.timestampMs,
    advertiserId,
    spend:
      spend === null
        ? null
        : {
            eventTimeMs: spend.eventTimeMs,
            // The set is per advertiser already, so only the click_id part of the key is stored.
            dedupKey: clickDedupKey(event) === null ? null : event.clickId,
            grossMicros: spend.grossMicros,
            netMicros: spend.netMicros,
            clicks: 1,
          },
    budget: budget === null ? null : { budgetMicros: budget.budgetMicros, eventTimeMs: budget.eventTimeMs },
  };
}
