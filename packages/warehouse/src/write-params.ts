import { timeBuckets } from "@adpipe/core";
import type { DerivedRecord, GoldDelta } from "./derive.js";
import { type PgArrayElement, pgArray } from "./pg-array.js";

/**
 * The parameters of sql/queries/write_batch.sql ($1..$61), built column-wise from the derived records. Array
 * parameters are sent as array literals (pg-array.ts): pg's own conversion of JS arrays cost more than building
 * the columns.
 */
export function writeBatchParams(options: {
  records: readonly DerivedRecord[];
  gold: readonly GoldDelta[];
  pipeline: string;
  nextOffsets: readonly { topic: string; partition: number; offset: bigint }[];
  writeBronze: boolean;
  maxStoredPayloadBytes: number;
}): unknown[] {
  const { records, gold, nextOffsets } = options;
  const n = records.length;
  const col = <T>(): T[] => new Array<T>(n);
  const topics = col<string>();
  const partitions = col<number>();
  const offsets = col<string>();
  const kafkaMs = col<number>();
  const keys = col<Buffer | null>();
  const payloads = col<Buffer | null>();
  const payloadBytes = col<number>();
  const truncated = col<boolean>();
  const rejectionReasons = col<string | null>();
  const rejectionDetails = col<string | null>();
  const eventTypes = col<string | null>();
  const clickIds = col<string | null>();
  const advertisers = col<string | null>();
  const rawAdvertiserIds = col<string | null>();
  const advertiserIds = col<string | null>();
  const adIds = col<string | null>();
  const amounts = col<number | null>();
  const budgets = col<number | null>();
  const eventMs = col<number | null>();
  const silverKinds = col<string | null>();
  const isValid = col<boolean | null>();
  const errorCodes = col<string | null>();
  const warnings = col<string | null>();
  const years = col<number | null>();
  const months = col<number | null>();
  const days = col<number | null>();
  const hours = col<number | null>();
  const goldWindows = col<number | null>();
  const cGross = col<number>();
  const cNet = col<number>();
  const cRecords = col<number>();
  const cValid = col<number>();
  const cInvalid = col<number>();
  const cDuplicate = col<number>();
  const firstTopics = col<string | null>();
  const firstPartitions = col<number | null>();
  const firstOffsets = col<string | null>();

  records.forEach((r, i) => {
    topics[i] = r.topic;
    partitions[i] = r.partition;
    offsets[i] = r.offset.toString();
    kafkaMs[i] = r.kafkaMs;
    keys[i] = r.key === null ? null : Buffer.from(r.key.buffer, r.key.byteOffset, r.key.byteLength);
    if (r.value === null) {
      payloads[i] = null;
      truncated[i] = false;
    } else {
      const stored = Math.min(r.value.byteLength, options.maxStoredPayloadBytes);
      payloads[i] = Buffer.from(r.value.buffer, r.value.byteOffset, stored);
      truncated[i] = stored < r.value.byteLength;
    }
    payloadBytes[i] = r.payloadBytes;
    const c = r.contribution;
    goldWindows[i] = c?.windowStartMs ?? null;
    cGross[i] = c?.grossMicros ?? 0;
    cNet[i] = c?.netMicros ?? 0;
    cRecords[i] = c?.records ?? 0;
    cValid[i] = c?.validClicks ?? 0;
    cInvalid[i] = c?.invalidClicks ?? 0;
    cDuplicate[i] = c?.duplicateClicks ?? 0;
    firstTopics[i] = r.first?.topic ?? null;
    firstPartitions[i] = r.first?.partition ?? null;
    firstOffsets[i] = r.first?.offset ?? null;
    silverKinds[i] = r.silver;
    if (!r.parse.ok) {
      rejectionReasons[i] = r.parse.reason;
      // Postgres text cannot hold NUL, and V8's JSON.parse message quotes the payload it choked on: a record
      // with a NUL in bad JSON failed its whole batch forever and stalled the partition (found by the
      // integrity suite, issue 10). The raw payload keeps the exact bytes; the detail shows the NUL escaped.
      rejectionDetails[i] = r.parse.detail.replaceAll("\u0000", "\\u0000");
      eventTypes[i] = null;
      clickIds[i] = null;
      advertisers[i] = null;
      rawAdvertiserIds[i] = null;
      advertiserIds[i] = null;
      adIds[i] = null;
      amounts[i] = null;
      budgets[i] = null;
      eventMs[i] = null;
      isValid[i] = null;
      errorCodes[i] = null;
      warnings[i] = null;
      years[i] = null;
      months[i] = null;
      days[i] = null;
      hours[i] = null;
      return;
    }
    const e = r.parse;
    rejectionReasons[i] = null;
    rejectionDetails[i] = null;
    eventTypes[i] = e.eventType;
    clickIds[i] = e.clickId;
    advertisers[i] = e.advertiser;
    // Bronze keeps advertiser_id as sent: absent when core defaulted it to the advertiser name.
    rawAdvertiserIds[i] = e.warnings.includes("advertiser_id_defaulted") ? null : e.advertiserId;
    advertiserIds[i] = e.advertiserId;
    adIds[i] = e.adId;
    amounts[i] = e.amountMicros;
    budgets[i] = e.budgetMicros;
    eventMs[i] = e.eventTimeMs;
    isValid[i] = e.isValid;
    errorCodes[i] = e.errors.join(",");
    warnings[i] = e.warnings.join(",");
    if (e.eventTimeMs === null) {
      years[i] = null;
      months[i] = null;
      days[i] = null;
      hours[i] = null;
    } else {
      const b = timeBuckets(e.eventTimeMs);
      years[i] = b.ingestYear;
      months[i] = b.ingestMonth;
      days[i] = b.ingestDay;
      hours[i] = b.ingestHour;
    }
  });

  const budgetRecords = records.filter((r) => r.budget !== null);
  const params: unknown[] = [
    topics,
    partitions,
    offsets,
    kafkaMs,
    keys,
    payloads,
    payloadBytes,
    truncated,
    rejectionReasons,
    rejectionDetails,
    eventTypes,
    clickIds,
    advertisers,
    rawAdvertiserIds,
    advertiserIds,
    adIds,
    amounts,
    budgets,
    eventMs,
    silverKinds,
    isValid,
    errorCodes,
    warnings,
    years,
    months,
    days,
    hours,
    goldWindows,
    cGross,
    cNet,
    cRecords,
    cValid,
    cInvalid,
    cDuplicate,
    firstTopics,
    firstPartitions,
    firstOffsets,
    gold.map((d) => d.advertiserId),
    gold.map((d) => d.advertiser),
    gold.map((d) => d.windowStartMs),
    gold.map((d) => d.grossMicros),
    gold.map((d) => d.netMicros),
    gold.map((d) => d.records),
    gold.map((d) => d.validClicks),
    gold.map((d) => d.invalidClicks),
    gold.map((d) => d.duplicateClicks),
    gold.map((d) => d.lastEventTimeMs),
    budgetRecords.map((r) => r.budget?.advertiserId),
    budgetRecords.map((r) => (r.parse.ok ? r.parse.advertiser : null)),
    budgetRecords.map((r) => r.budget?.eventTimeMs),
    budgetRecords.map((r) => r.budget?.budgetMicros),
    budgetRecords.map((r) => (r.parse.ok ? r.parse.eventType : null)),
    budgetRecords.map((r) => r.topic),
    budgetRecords.map((r) => r.partition),
    budgetRecords.map((r) => r.offset.toString()),
    budgetRecords.map((r) => r.kafkaMs),
    options.pipeline,
    nextOffsets.map((o) => o.topic),
    nextOffsets.map((o) => o.partition),
    nextOffsets.map((o) => o.offset.toString()),
    options.writeBronze,
  ];
  return params.map((param) => (Array.isArray(param) ? pgArray(param as PgArrayElement[]) : param));
}
