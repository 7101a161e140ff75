import type { BudgetPeriod, CalendarEpoch, CalendarObservation } from "@adpipe/core";
import { calendarEpochs, DEFAULT_BUDGET_PERIOD, DEFAULT_TIME_ZONE } from "@adpipe/core";
import type { ClientBase } from "pg";
import { billBatch } from "./billing.js";
import { copyBronze } from "./bronze-copy.js";
import {
  aggregateGold,
  DEFAULT_MAX_STORED_PAYLOAD_BYTES,
  type DerivedRecord,
  deriveRecords,
  type FirstOccurrence,
  type ParsedRecord,
  type ParseLimits,
  parseRecords,
  servingScope,
} from "./derive.js";
import { type TopicResetFinding, WarehouseError } from "./errors.js";
import { PartitionCache } from "./partitions.js";
import { PgBinaryArray, pgBinaryArray } from "./pg-binary-array.js";
import { queryConfig } from "./queries.js";
import type { KafkaRecord } from "./records.js";
import { copySilver } from "./silver-copy.js";
import type { LogPosition } from "./tracker-queries.js";
import { writeBatchParams } from "./write-params.js";

export interface ServingRules {
  /** Budget period of can_serve (core's budgetPeriodOf). Default "day". */
  budgetPeriod?: BudgetPeriod;
  /** IANA time zone of budget periods. Default "UTC". */
  timeZone?: string;
}

export interface WriteBatchOptions extends ServingRules {
  /** Limits passed to parseEvent (lateness, skew, max amount, payload size). */
  parseLimits?: ParseLimits;
  /** Bronze stores at most this many payload bytes per record. Default 1 MiB. */
  maxStoredPayloadBytes?: number;
  /** Known day partitions (share one per process); a private cache is used when omitted. */
  partitions?: PartitionCache;
}

export interface WriteBatch {
  /** Name under which offsets are stored: the consumer group id. */
  readonly pipeline: string;
  /** Records of one or more partitions, each partition's in offset order. */
  readonly records: readonly KafkaRecord[];
  /**
   * Generation of the topic log the records were read from, as the caller believes it (default 0). A stored
   * offset of another generation means a reset happened the caller has not seen: the batch is refused
   * (WarehouseError "generation_changed") and nothing is written.
   */
  readonly generation?: number;
  /**
   * The log end offset (high watermark) of each partition as the fetch reported it. A stored next offset beyond
   * it means the log was replaced (topic deleted and recreated): the batch is refused (WarehouseError
   * "topic_reset", with the partitions in `resets`) instead of dropping its records as replays.
   */
  readonly logEnds?: readonly { topic: string; partition: number; endOffset: string | bigint }[];
}

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (last written + 1), decimal string. */
  readonly offset: string;
}

export interface WriteBatchResult {
  /** Records handed in. */
  readonly received: number;
  /** Records written (at or beyond the stored offsets). */
  readonly written: number;
  /** Records dropped because they were below the stored offset (already written by an earlier delivery). */
  readonly replayed: number;
  readonly rejected: number;
  readonly valid: number;
  readonly invalid: number;
  readonly duplicates: number;
  /** Over_cap part of the written clicks (beyond a hard_cap budget, never billed), micros. */
  readonly overCapMicros: number;
  /** Count per error code (rejection reasons and findings) among written records. */
  readonly errorCodes: Readonly<Record<string, number>>;
  readonly goldRows: number;
  readonly servingUpdates: number;
  /** New stored offsets of the partitions written. */
  readonly offsets: readonly PartitionOffset[];
  /** Partitions whose first written record was beyond the stored offset (records missing from Kafka). */
  readonly gaps: readonly { topic: string; partition: number; expected: string; got: string }[];
  /** Newest event time of a valid click written to Gold, epoch ms (null when none): for freshness metrics. */
  readonly newestValidEventTimeMs: number | null;
  /** Wall clock when the transaction committed, epoch ms. */
  readonly committedAtMs: number;
}

const privatePartitions = new PartitionCache();

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Whether a precedes b in (topic, partition, offset) order (false when equal). */
function precedes(a: ParsedRecord, b: ParsedRecord): boolean {
  return a.topic !== b.topic
    ? a.topic < b.topic
    : a.partition !== b.partition
      ? a.partition < b.partition
      : a.offset < b.offset;
}

/** Sorts by (topic, partition, offset), keeping one record per offset (the first given). */
export function orderRecords(parsed: ParsedRecord[]): ParsedRecord[] {
  // A fetch hands each partition's records in offset order: check that in one pass and skip the sort, whose
  // comparisons of bigint offsets were a visible share of the ingestor's profile.
  let ordered = true;
  for (let i = 1; i < parsed.length && ordered; i++) ordered = precedes(parsed[i - 1]!, parsed[i]!);
  if (ordered) return parsed;
  const sorted = [...parsed].sort((a, b) =>
    a.topic !== b.topic
      ? a.topic < b.topic
        ? -1
        : 1
      : a.partition !== b.partition
        ? a.partition - b.partition
        : a.offset < b.offset
          ? -1
          : a.offset > b.offset
            ? 1
            : 0,
  );
  return sorted.filter(
    (r, i) =>
      i === 0 ||
      !(
        sorted[i - 1]!.topic === r.topic &&
        sorted[i - 1]!.partition === r.partition &&
        sorted[i - 1]!.offset === r.offset
      ),
  );
}

/** Claims the batch's click dedup keys; returns the first-occurrence lookup for deriveRecords. */
export async function claimClicks(
  client: ClientBase,
  records: readonly ParsedRecord[],
): Promise<(record: ParsedRecord) => FirstOccurrence | null> {
  const keyed = records.filter((r) => r.dedupKey !== null && r.parse.ok);
  if (keyed.length === 0) return () => null;
  // Binary arrays (pg-binary-array.ts): cheaper for both sides than text literals or pg's conversion.
  const columns = {
    dedupKeys: new PgBinaryArray("text", keyed.length * 48),
    clickIds: new PgBinaryArray("text", keyed.length * 32),
    advertiserIds: new PgBinaryArray("text", keyed.length * 24),
    topics: new PgBinaryArray("text", keyed.length * 16),
    partitions: new PgBinaryArray("int4", keyed.length * 8),
    offsets: new PgBinaryArray("int8", keyed.length * 12),
    kafkaMs: new PgBinaryArray("int8", keyed.length * 12),
    eventMs: new PgBinaryArray("int8", keyed.length * 12),
    generations: new PgBinaryArray("int4", keyed.length * 8),
  };
  for (const r of keyed) {
    columns.dedupKeys.text(r.dedupKey);
    columns.clickIds.text(r.parse.ok ? r.parse.clickId : null);
    columns.advertiserIds.text(r.parse.ok ? r.parse.advertiserId : null);
    columns.topics.text(r.topic);
    columns.partitions.integer(r.partition);
    columns.offsets.bigint(r.offset);
    columns.kafkaMs.integer(r.kafkaMs);
    columns.eventMs.integer(r.parse.ok ? r.parse.eventTimeMs : null);
    columns.generations.integer(r.generation);
  }
  const params = Object.values(columns).map((column) => column.build());
  const { rows } = await client.query<{
    dedup_key: string;
    claimed: boolean;
    first_topic: string;
    first_partition: number;
    first_generation: number;
    first_offset: string;
  }>(queryConfig("click_registry_claim", params));
  const claimed = new Set<string>();
  const existing = new Map<string, FirstOccurrence>();
  for (const row of rows) {
    if (row.claimed) claimed.add(row.dedup_key);
    else
      existing.set(row.dedup_key, {
        topic: row.first_topic,
        partition: row.first_partition,
        generation: row.first_generation,
        offset: row.first_offset,
      });
  }
  // The first record of each key in this batch (the claim candidate).
  const firstInBatch = new Map<string, ParsedRecord>();
  for (const r of keyed) if (!firstInBatch.has(r.dedupKey!)) firstInBatch.set(r.dedupKey!, r);
  const unknown: FirstOccurrence = { topic: null, partition: null, generation: null, offset: null };
  return (record) => {
    const key = record.dedupKey;
    if (key === null) return null;
    const candidate = firstInBatch.get(key);
    if (claimed.has(key) && candidate !== undefined) {
      if (candidate === record) return null;
      return {
        topic: candidate.topic,
        partition: candidate.partition,
        generation: candidate.generation,
        offset: candidate.offset.toString(),
      };
    }
    return existing.get(key) ?? unknown;
  };
}

/**
 * Re-evaluates budget_value / can_serve of every Gold row of the given advertisers with window_end after the
 * given instant (set-based, one statement). `scope`: advertiser id -> earliest instant that may have changed.
 */
export async function reevaluateServingScope(
  client: ClientBase,
  scope: ReadonlyMap<string, number>,
  rules: ServingRules,
): Promise<number> {
  if (scope.size === 0) return 0;
  const own = await ownCalendarEpochs(client, [...scope.keys()], rules);
  let updated = 0;
  const shared = [...scope].filter(([advertiserId]) => !own.has(advertiserId));
  if (shared.length > 0) {
    const { rows } = await client.query<{ updated: number }>(
      queryConfig("gold_reevaluate_serving", [
        pgBinaryArray(
          "text",
          shared.map(([advertiserId]) => advertiserId),
        ),
        pgBinaryArray(
          "int8",
          shared.map(([, fromMs]) => fromMs),
        ),
        rules.budgetPeriod ?? DEFAULT_BUDGET_PERIOD,
        rules.timeZone ?? DEFAULT_TIME_ZONE,
      ]),
    );
    updated += rows[0]?.updated ?? 0;
  }
  if (own.size > 0) {
    const epochs = [...own].flatMap(([advertiserId, list]) =>
      list.map((epoch, index) => ({ advertiserId, index, ...epoch })),
    );
    const ids = [...own.keys()];
    const { rows } = await client.query<{ updated: number }>(
      queryConfig("gold_reevaluate_serving_calendars", [
        ids,
        ids.map((advertiserId) => scope.get(advertiserId) as number),
        epochs.map((e) => e.advertiserId),
        epochs.map((e) => e.index),
        epochs.map((e) => e.start?.topic ?? null),
        epochs.map((e) => e.start?.generation ?? null),
        epochs.map((e) => e.start?.partition ?? null),
        epochs.map((e) => e.start?.offset ?? null),
        epochs.map((e) => e.calendar.period),
        epochs.map((e) => e.calendar.timeZone),
      ]),
    );
    updated += rows[0]?.updated ?? 0;
  }
  return updated;
}

/** One stored calendar setting as gold_calendar_epochs.sql returns it (json, in log order). */
type CalendarSettingRow = [string, string | null, string | null, string, number, number, string];

/**
 * The calendar epochs (calendarEpochs of @adpipe/core) of those advertisers whose own calendar ever changed the
 * calendar in force: their Gold rows follow goldRowPeriodNet (gold_reevaluate_serving_calendars.sql). The others
 * (most: one probe of a partial index finds no setting) keep the service-wide path.
 */
async function ownCalendarEpochs(
  client: ClientBase,
  advertiserIds: readonly string[],
  rules: ServingRules,
): Promise<Map<string, CalendarEpoch<LogPosition>[]>> {
  const defaults = {
    period: rules.budgetPeriod ?? DEFAULT_BUDGET_PERIOD,
    timeZone: rules.timeZone ?? DEFAULT_TIME_ZONE,
  };
  const { rows } = await client.query<{ advertiser_id: string; settings: CalendarSettingRow[] }>(
    queryConfig("gold_calendar_epochs", [pgBinaryArray("text", advertiserIds)]),
  );
  const own = new Map<string, CalendarEpoch<LogPosition>[]>();
  for (const row of rows) {
    const observations: CalendarObservation<LogPosition>[] = row.settings.map(
      ([eventMs, period, timeZone, topic, generation, partition, offset]) => ({
        eventTimeMs: Number(eventMs),
        period: period as BudgetPeriod | null,
        timeZone,
        position: { topic, generation, partition, offset },
      }),
    );
    const epochs = calendarEpochs(observations, defaults);
    if (epochs.length > 1) own.set(row.advertiser_id, epochs);
  }
  return own;
}

/** Applies a batch's effect on serving decisions: its contributions' hours and periods, its budget observations. */
export function reevaluateServing(
  client: ClientBase,
  records: readonly DerivedRecord[],
  rules: ServingRules,
): Promise<number> {
  return reevaluateServingScope(client, servingScope(records), rules);
}

/** Outcome counts of derived records (what a batch result reports). */
export function tally(
  records: readonly DerivedRecord[],
): Pick<
  WriteBatchResult,
  "rejected" | "valid" | "invalid" | "duplicates" | "overCapMicros" | "errorCodes" | "newestValidEventTimeMs"
> {
  let rejected = 0;
  let valid = 0;
  let invalid = 0;
  let duplicates = 0;
  let overCapMicros = 0;
  let newest: number | null = null;
  const errorCodes: Record<string, number> = {};
  for (const r of records) {
    const c = r.contribution;
    if (c !== null && c.validClicks > 0)
      newest = newest === null ? c.eventTimeMs : Math.max(newest, c.eventTimeMs);
    if (c !== null) overCapMicros += c.overCapMicros;
    if (!r.parse.ok) {
      rejected += 1;
      errorCodes[r.parse.reason] = (errorCodes[r.parse.reason] ?? 0) + 1;
      continue;
    }
    if (r.silver === "duplicate") duplicates += 1;
    else if (r.parse.isValid) valid += 1;
    else invalid += 1;
    for (const code of r.parse.errors) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  }
  return { rejected, valid, invalid, duplicates, overCapMicros, errorCodes, newestValidEventTimeMs: newest };
}

/**
 * Writes one batch of Kafka records to Bronze, Silver and Gold and stores the offsets, in ONE transaction with a
 * constant number of round trips (BEGIN, lock offsets, claim click ids, read the billing state, COPY Bronze, write
 * the rest, re-evaluate serving, COMMIT), plus one partition check outside the transaction when the batch brings a
 * new day.
 *
 * Exactly once: the stored offsets are row-locked first and records below them are dropped, so a batch delivered
 * twice (crash before the Kafka commit, rebalance, seek race) writes nothing twice. The client must not be in a
 * transaction. Throws WarehouseError("batch_write_failed") after rolling back; the caller retries the batch.
 */
export async function writeBatch(
  client: ClientBase,
  batch: WriteBatch,
  options: WriteBatchOptions = {},
): Promise<WriteBatchResult> {
  const parsed = orderRecords(parseRecords(batch.records, options.parseLimits, batch.generation ?? 0));
  const received = batch.records.length;
  if (parsed.length === 0) {
    return {
      received,
      written: 0,
      replayed: 0,
      rejected: 0,
      valid: 0,
      invalid: 0,
      duplicates: 0,
      overCapMicros: 0,
      errorCodes: {},
      goldRows: 0,
      servingUpdates: 0,
      offsets: [],
      gaps: [],
      newestValidEventTimeMs: null,
      committedAtMs: Date.now(),
    };
  }
  const partitions = options.partitions ?? privatePartitions;
  let inTransaction = false;
  try {
    await partitions.ensure(
      client,
      parsed.map((r) => r.kafkaMs),
    );
    await client.query("BEGIN");
    inTransaction = true;
    const topicPartitions = [...new Map(parsed.map((r) => [partitionKey(r.topic, r.partition), r])).values()];
    const { rows: stored } = await client.query<{
      topic: string;
      partition: number;
      next_offset: string;
      generation: number;
    }>(
      queryConfig("offsets_lock", [
        batch.pipeline,
        topicPartitions.map((r) => r.topic),
        topicPartitions.map((r) => r.partition),
      ]),
    );
    checkStoredPositions(batch, stored);
    const storedOffset = new Map(
      stored.map((row) => [partitionKey(row.topic, row.partition), BigInt(row.next_offset)]),
    );
    const fresh = parsed.filter(
      (r) => r.offset >= (storedOffset.get(partitionKey(r.topic, r.partition)) ?? 0n),
    );
    if (fresh.length === 0) {
      await client.query("COMMIT");
      inTransaction = false;
      return {
        received,
        written: 0,
        replayed: parsed.length,
        rejected: 0,
        valid: 0,
        invalid: 0,
        duplicates: 0,
        overCapMicros: 0,
        errorCodes: {},
        goldRows: 0,
        servingUpdates: 0,
        offsets: [],
        gaps: [],
        newestValidEventTimeMs: null,
        committedAtMs: Date.now(),
      };
    }
    const nextOffsets = new Map<string, { topic: string; partition: number; offset: bigint }>();
    const gaps: { topic: string; partition: number; expected: string; got: string }[] = [];
    for (const r of fresh) {
      const key = partitionKey(r.topic, r.partition);
      if (!nextOffsets.has(key)) {
        const expected = storedOffset.get(key) ?? 0n;
        // Offset 0 stored means "never written": wherever the log starts is fine.
        if (expected > 0n && r.offset > expected) {
          gaps.push({
            topic: r.topic,
            partition: r.partition,
            expected: expected.toString(),
            got: r.offset.toString(),
          });
        }
      }
      nextOffsets.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1n });
    }

    const firstOf = await claimClicks(client, fresh);
    const derived = await billBatch(client, deriveRecords(fresh, firstOf), options);
    const gold = aggregateGold(derived);
    const maxStoredPayloadBytes = options.maxStoredPayloadBytes ?? DEFAULT_MAX_STORED_PAYLOAD_BYTES;
    await copyBronze(client, derived, maxStoredPayloadBytes);
    await copySilver(client, derived);
    const { rows } = await client.query<{ gold: number }>(
      queryConfig(
        "write_batch",
        writeBatchParams({
          records: derived,
          gold,
          pipeline: batch.pipeline,
          nextOffsets: [...nextOffsets.values()],
          writeBronze: false,
          writeSilver: false,
          maxStoredPayloadBytes,
          timeZone: options.timeZone ?? DEFAULT_TIME_ZONE,
        }),
      ),
    );
    const servingUpdates = await reevaluateServing(client, derived, options);
    await client.query("COMMIT");
    inTransaction = false;
    const committedAtMs = Date.now();
    return {
      received,
      written: fresh.length,
      replayed: parsed.length - fresh.length,
      ...tally(derived),
      goldRows: rows[0]?.gold ?? 0,
      servingUpdates,
      offsets: [...nextOffsets.values()].map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset.toString(),
      })),
      gaps,
      committedAtMs,
    };
  } catch (error) {
    if (inTransaction) await client.query("ROLLBACK").catch(() => undefined);
    if (error instanceof WarehouseError && error.code !== "ADP_WAREHOUSE_BATCH_WRITE_FAILED") throw error;
    throw new WarehouseError("batch_write_failed", `writing a batch of ${received} records failed`, {
      cause: error,
    });
  }
}

/**
 * Refuses a batch whose stored positions (row-locked) do not fit the log it was read from: another generation
 * (a reset the caller has not seen) or a next offset beyond the log end (the topic was replaced under us).
 */
function checkStoredPositions(
  batch: WriteBatch,
  stored: readonly { topic: string; partition: number; next_offset: string; generation: number }[],
): void {
  const generation = batch.generation ?? 0;
  const moved = stored.filter((row) => row.generation !== generation);
  if (moved.length > 0) {
    throw new WarehouseError(
      "generation_changed",
      `the stored offsets of ${moved.map((row) => `${row.topic}/${row.partition}`).join(", ")} belong to generation ${moved[0]?.generation} of the topic, the batch to generation ${generation}: a reset moved them; nothing written`,
    );
  }
  if (batch.logEnds === undefined) return;
  const ends = new Map(batch.logEnds.map((e) => [partitionKey(e.topic, e.partition), BigInt(e.endOffset)]));
  const resets: TopicResetFinding[] = [];
  for (const row of stored) {
    const end = ends.get(partitionKey(row.topic, row.partition));
    if (end !== undefined && BigInt(row.next_offset) > end) {
      resets.push({
        topic: row.topic,
        partition: row.partition,
        generation: row.generation,
        storedOffset: row.next_offset,
        logEndOffset: end.toString(),
      });
    }
  }
  if (resets.length > 0) {
    throw new WarehouseError(
      "topic_reset",
      `topic reset: ${resets.map((r) => `${r.topic}/${r.partition} stored ${r.storedOffset} > end ${r.logEndOffset}`).join(", ")}; nothing written`,
      { resets },
    );
  }
}
