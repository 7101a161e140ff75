import { EventEffect, eventEffect, type ParsedEvent } from "@adpipe/core";
import type { SpendRecord } from "./records.js";

export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
  /** Kafka record timestamp (epoch ms). */
  readonly timestampMs: number;
}

/**
 * What a parsed event does to the real-time state (eventEffect of @adpipe/core) as a SpendRecord: its spend
 * (deduplicated later by click_id per advertiser and period) and its budget observation. null when it does
 * neither (budget updates without a valid budget, clicks without advertiser or event time, unknown event
 * types...). The tracker does not build these: it hands the effect straight to SliceBatch.add.
 * Redis `clicks` counts the non-duplicate clicks of the period, valid or not (the oracle's ServingState.clicks,
 * and the warehouse's period totals).
 */
export function spendRecordOf(event: ParsedEvent, position: RecordPosition): SpendRecord | null {
  const effect = eventEffect(event, new EventEffect());
  const advertiserId = effect.advertiserId;
  if (advertiserId === null || (!effect.spends && effect.budgetSource === null)) return null;
  return {
    partition: position.partition,
    offset: position.offset,
    timestampMs: position.timestampMs,
    advertiserId,
    spend: effect.spends
      ? {
          eventTimeMs: effect.eventTimeMs,
          // The set is per advertiser already, so only the click_id part of the key is stored.
          dedupKey: effect.dedupClickId,
          reservationId: effect.reservationId,
          grossMicros: effect.grossMicros,
          netMicros: effect.netMicros,
          clicks: effect.clicks,
        }
      : null,
    budget:
      effect.budgetSource === null
        ? null
        : {
            budgetMicros: effect.budgetMicros,
            eventTimeMs: effect.eventTimeMs,
            source: effect.budgetSource,
            mode: effect.budgetMode ?? undefined,
            budgetPeriod: effect.budgetPeriod ?? undefined,
            timeZone: effect.timeZone ?? undefined,
            pacing: effect.pacing ?? undefined,
          },
  };
}
