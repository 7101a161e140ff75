import { budgetObservation, clickDedupKey, type ParsedEvent, spendContribution } from "@adpipe/core";
import type { SpendRecord } from "./records.js";
import type { SliceBatch } from "./slices.js";

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
    budget:
      budget === null
        ? null
        : { budgetMicros: budget.budgetMicros, eventTimeMs: budget.eventTimeMs, source: budget.source },
  };
}

/** What addParsedEvent did with an event (the tracker counts these). */
export const ADDED_NONE = 0;
export const ADDED_SPEND = 1;
export const ADDED_BUDGET = 2;

/**
 * spendRecordOf straight into a batch: the same record, without the objects in between (the SpendRecord,
 * and the contribution, observation and dedup key @adpipe/core builds per event), which were a visible share
 * of the tracker's garbage. The conditions are those of spendContribution, budgetObservation and
 * clickDedupKey; a test holds this function to spendRecordOf over generated streams.
 * Returns ADDED_SPEND (the record carries spend), ADDED_BUDGET (a budget observation only) or ADDED_NONE.
 */
export function addParsedEvent(
  batch: SliceBatch,
  event: ParsedEvent,
  partition: number,
  offset: number,
  timestampMs: number,
): number {
  const advertiserId = event.advertiserId;
  const eventTimeMs = event.eventTimeMs;
  if (advertiserId === null || eventTimeMs === null) return ADDED_NONE;
  const spends = event.eventType === "ad_click";
  const budgetSource = event.isValid ? event.budgetSource : null;
  const budgetMicros = budgetSource === null ? null : event.budgetMicros;
  if (!spends && budgetMicros === null) return ADDED_NONE;
  const grossMicros = spends ? (event.amountMicros ?? 0) : 0;
  batch.add(
    advertiserId,
    partition,
    offset,
    timestampMs,
    spends ? eventTimeMs : null,
    spends ? event.clickId : null,
    grossMicros,
    event.isValid ? grossMicros : 0,
    spends ? 1 : 0,
    budgetMicros,
    budgetMicros === null ? 0 : eventTimeMs,
    budgetSource ?? "click",
  );
  return spends ? ADDED_SPEND : ADDED_BUDGET;
}
