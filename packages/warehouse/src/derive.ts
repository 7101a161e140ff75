import {
  type BudgetMode,
  type BudgetObservation,
  type BudgetPeriod,
  clickDedupKeyOf,
  EventEffect,
  eventEffect,
  observationOf,
  type PacingMode,
  ParseContext,
  type ParsedEvent,
  type ParseOptions,
  type ParseResult,
  parseEvent,
} from "@adpipe/core";
import { WarehouseError } from "./errors.js";
import type { KafkaRecord, RecordLineage } from "./records.js";

/** Parse limits passed to parseEvent (referenceTimeMs is always the record's Kafka timestamp). */
export type ParseLimits = Omit<ParseOptions, "referenceTimeMs">;

/** Record timestamps are clamped into the range Postgres and the day partitions handle (years 1970..9999). */
const MIN_RECORD_MS = 0;
const MAX_RECORD_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Bronze keeps at most this many bytes of a payload (Kafka's default max record size); the rest is cut. */
export const DEFAULT_MAX_STORED_PAYLOAD_BYTES = 1_048_576;

/** What a record adds to its Gold row (advertiser_id, window). */
export interface GoldContribution {
  readonly advertiserId: string;
  /** The event's advertiser name (null when it sent only advertiser_id). */
  readonly advertiser: string | null;
  readonly windowStartMs: number;
  readonly eventTimeMs: number;
  readonly grossMicros: number;
  /** The billable part of the click's net (billableMicros of @adpipe/core; before billing: all of it). */
  readonly netMicros: number;
  /** The part of the click's net beyond a hard_cap budget (never billed; 0 before billing). */
  readonly overCapMicros: number;
  readonly records: number;
  readonly validClicks: number;
  readonly invalidClicks: number;
  readonly duplicateClicks: number;
}

export type SilverKind = "clean" | "duplicate";

/** A record after parsing (before deduplication). */
export interface ParsedRecord extends RecordLineage {
  readonly kafkaMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly payloadBytes: number;
  readonly parse: ParseResult;
  /** clickDedupKey of the event (null: takes no part in deduplication). */
  readonly dedupKey: string | null;
}

/** First occurrence of a duplicate click (null parts: claimed by a concurrent transaction). */
export interface FirstOccurrence {
  readonly topic: string | null;
  readonly partition: number | null;
  readonly generation: number | null;
  readonly offset: string | null;
}

/** A record ready to be written: its Silver table (none when rejected), Gold contribution and budget observation. */
export interface DerivedRecord extends ParsedRecord {
  readonly silver: SilverKind | null;
  readonly first: FirstOccurrence | null;
  readonly contribution: GoldContribution | null;
  readonly budget: BudgetObservation | null;
  /** The budget mode the observation set (explicit budget updates only); null leaves the mode unchanged. */
  readonly budgetMode: BudgetMode | null;
  /** The budget period / IANA time zone the observation set (explicit updates only); null leaves it unchanged. */
  readonly budgetPeriod: BudgetPeriod | null;
  readonly timeZone: string | null;
  /** The pacing the observation set (explicit updates only); null leaves it unchanged. */
  readonly pacing: PacingMode | null;
}

export function toOffset(offset: string | number | bigint): bigint {
  try {
    const value = BigInt(offset);
    if (value < 0n) throw new RangeError("negative");
    return value;
  } catch (error) {
    throw new WarehouseError("batch_invalid", `not a Kafka offset: ${String(offset).slice(0, 32)}`, {
      cause: error,
    });
  }
}

export function clampRecordMs(ms: number): number {
  if (!Number.isFinite(ms)) return MIN_RECORD_MS;
  return Math.min(MAX_RECORD_MS, Math.max(MIN_RECORD_MS, Math.trunc(ms)));
}

/** Parses every record with @adpipe/core, judging time against the record's own Kafka timestamp. */
export function parseRecords(
  records: readonly KafkaRecord[],
  limits: ParseLimits = {},
  generation = 0,
): ParsedRecord[] {
  // One options object, its reference time set per record (a spread per record cost measurable CPU).
  const options = { ...limits, referenceTimeMs: 0 };
  const context = new ParseContext();
  const effect = new EventEffect();
  return records.map((record) => {
    const kafkaMs = clampRecordMs(record.timestampMs);
    options.referenceTimeMs = kafkaMs;
    const parse = parseEvent(record.value, options, context);
    return {
      topic: record.topic,
      partition: record.partition,
      generation: record.generation ?? generation,
      offset: toOffset(record.offset),
      kafkaMs,
      key: record.key,
      value: record.value,
      payloadBytes: record.value?.byteLength ?? 0,
      parse,
      dedupKey: parse.ok ? clickDedupKeyOf(eventEffect(parse, effect)) : null,
    };
  });
}

/**
 * Gold contribution of a parsed event, as the oracle of @adpipe/core defines Gold. Non-duplicate clicks:
 * the spend of eventEffect (gross, net, valid/invalid; record_count = valid + invalid). A duplicate click adds
 * only to duplicate_clicks of its own hour (and its name counts for the row's advertiser). Other events (budget
 * updates, clicks without advertiser_id or event time) add nothing.
 */
export function goldContribution(event: ParsedEvent, duplicate: boolean): GoldContribution | null {
  return goldContributionOf(eventEffect(event, new EventEffect()), duplicate);
}

/** goldContribution of an event's effect (the batch derivation reuses one EventEffect for every record). */
export function goldContributionOf(effect: EventEffect, duplicate: boolean): GoldContribution | null {
  if (!effect.spends || effect.advertiserId === null) return null;
  return {
    advertiserId: effect.advertiserId,
    advertiser: effect.advertiser,
    windowStartMs: effect.windowStartMs,
    eventTimeMs: effect.eventTimeMs,
    grossMicros: duplicate ? 0 : effect.grossMicros,
    netMicros: duplicate ? 0 : effect.netMicros,
    overCapMicros: 0,
    records: duplicate ? 0 : effect.clicks,
    validClicks: !duplicate && effect.valid ? 1 : 0,
    invalidClicks: !duplicate && !effect.valid ? 1 : 0,
    duplicateClicks: duplicate ? 1 : 0,
  };
}

/**
 * Completes parsed records with the deduplication outcome: `firstOf(record)` returns null when the record is the
 * first occurrence of its click (or takes no part in dedup), else the lineage of the first occurrence.
 */
export function deriveRecords(
  parsed: readonly ParsedRecord[],
  firstOf: (record: ParsedRecord) => FirstOccurrence | null,
): DerivedRecord[] {
  // Fields listed one by one rather than spread: a spread per record was a measurable share of the ingestor's CPU.
  const derive = (
    r: ParsedRecord,
    silver: SilverKind | null,
    first: FirstOccurrence | null,
    contribution: GoldContribution | null,
    budget: BudgetObservation | null,
    budgetMode: BudgetMode | null,
    budgetPeriod: BudgetPeriod | null,
    timeZone: string | null,
    pacing: PacingMode | null,
  ): DerivedRecord => ({
    topic: r.topic,
    partition: r.partition,
    generation: r.generation,
    offset: r.offset,
    kafkaMs: r.kafkaMs,
    key: r.key,
    value: r.value,
    payloadBytes: r.payloadBytes,
    parse: r.parse,
    dedupKey: r.dedupKey,
    silver,
    first,
    contribution,
    budget,
    budgetMode,
    budgetPeriod,
    timeZone,
    pacing,
  });
  const effect = new EventEffect();
  return parsed.map((record) => {
    if (!record.parse.ok) return derive(record, null, null, null, null, null, null, null, null);
    const first = record.dedupKey === null ? null : firstOf(record);
    const duplicate = first !== null;
    eventEffect(record.parse, effect);
    return derive(
      record,
      duplicate ? "duplicate" : "clean",
      first,
      goldContributionOf(effect, duplicate),
      // Duplicates never move the budget (core: callers skip duplicates).
      duplicate ? null : observationOf(effect),
      duplicate ? null : effect.budgetMode,
      duplicate ? null : effect.budgetPeriod,
      duplicate ? null : effect.timeZone,
      duplicate ? null : effect.pacing,
    );
  });
}

/** Sum of contributions per Gold key, in key order (stable statement order avoids deadlocks between writers). */
export interface GoldDelta {
  readonly advertiserId: string;
  /** Last non-null advertiser name among the key's records in partition order (null: keep the stored one). */
  advertiser: string | null;
  readonly windowStartMs: number;
  grossMicros: number;
  netMicros: number;
  overCapMicros: number;
  records: number;
  validClicks: number;
  invalidClicks: number;
  duplicateClicks: number;
  lastEventTimeMs: number;
}

export function aggregateGold(records: readonly DerivedRecord[]): GoldDelta[] {
  const deltas = new Map<string, GoldDelta>();
  for (const { contribution: c } of records) {
    if (c === null) continue;
    const key = `${c.advertiserId}\u0000${c.windowStartMs}`;
    const delta = deltas.get(key);
    if (delta === undefined) {
      deltas.set(key, {
        advertiserId: c.advertiserId,
        advertiser: c.advertiser,
        windowStartMs: c.windowStartMs,
        grossMicros: c.grossMicros,
        netMicros: c.netMicros,
        overCapMicros: c.overCapMicros,
        records: c.records,
        validClicks: c.validClicks,
        invalidClicks: c.invalidClicks,
        duplicateClicks: c.duplicateClicks,
        lastEventTimeMs: c.eventTimeMs,
      });
      continue;
    }
    delta.grossMicros += c.grossMicros;
    delta.netMicros += c.netMicros;
    delta.overCapMicros += c.overCapMicros;
    delta.records += c.records;
    delta.validClicks += c.validClicks;
    delta.invalidClicks += c.invalidClicks;
    delta.duplicateClicks += c.duplicateClicks;
    delta.lastEventTimeMs = Math.max(delta.lastEventTimeMs, c.eventTimeMs);
    if (c.advertiser !== null) delta.advertiser = c.advertiser;
    if (!Number.isSafeInteger(delta.grossMicros)) {
      throw new WarehouseError("batch_invalid", `gross spend of ${c.advertiserId} overflows safe integers`);
    }
  }
  return [...deltas.values()].sort((a, b) =>
    a.advertiserId < b.advertiserId
      ? -1
      : a.advertiserId > b.advertiserId
        ? 1
        : a.windowStartMs - b.windowStartMs,
  );
}

/**
 * Per advertiser, the earliest instant from which Gold serving decisions may have changed: the window start of a
 * contribution (its hour and the later hours of its period) or the event time of a budget observation.
 */
export function servingScope(records: readonly DerivedRecord[]): Map<string, number> {
  const scope = new Map<string, number>();
  const touch = (advertiserId: string, fromMs: number): void => {
    const current = scope.get(advertiserId);
    if (current === undefined || fromMs < current) scope.set(advertiserId, fromMs);
  };
  for (const record of records) {
    if (record.contribution !== null)
      touch(record.contribution.advertiserId, record.contribution.windowStartMs);
    if (record.budget !== null) touch(record.budget.advertiserId, record.budget.eventTimeMs);
  }
  return scope;
}
