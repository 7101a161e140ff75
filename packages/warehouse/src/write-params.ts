import { timeBuckets } from "@adpipe/core";
import { storedPayload, storedRejectionDetail } from "./bronze-copy.js";
import type { DerivedRecord, GoldDelta } from "./derive.js";
import { PgBinaryArray, type PgElementType } from "./pg-binary-array.js";

/**
 * The parameters of sql/queries/write_batch.sql ($1..$67), built column-wise from the derived records. Array
 * parameters are binary arrays (pg-binary-array.ts): text literals cost both Node and Postgres more than the rest
 * of the batch's work (pg's own conversion of JS arrays even more).
 */
export function writeBatchParams(options: {
  records: readonly DerivedRecord[];
  gold: readonly GoldDelta[];
  pipeline: string;
  nextOffsets: readonly { topic: string; partition: number; offset: bigint }[];
  writeBronze: boolean;
  /**
   * Whether the statement writes Silver (default true). False when the caller wrote it by COPY (silver-copy.ts):
   * the per-record arrays ($1-$37, $62, $63, $65) then stay empty, and only budget observations, Gold and the
   * offsets are written. Bronze needs the per-record arrays, so writeBronze requires writeSilver.
   */
  writeSilver?: boolean;
  maxStoredPayloadBytes: number;
  /** The service-wide BUDGET_TIME_ZONE: Gold's local_spend_day for advertisers that never set their own (UTC). */
  timeZone?: string;
}): unknown[] {
  const { records, gold, nextOffsets } = options;
  const n = (options.writeSilver ?? true) ? records.length : 0;
  const col = (type: PgElementType, bytesPerRecord = 8) => new PgBinaryArray(type, n * bytesPerRecord);
  const topics = col("text");
  const partitions = col("int4");
  const offsets = col("int8");
  const kafkaMs = col("int8");
  const keys = col("bytea");
  const payloads = col("bytea", 512);
  const payloadBytes = col("int4");
  const truncated = col("bool");
  const rejectionReasons = col("text");
  const rejectionDetails = col("text", 32);
  const eventTypes = col("text");
  const clickIds = col("text", 32);
  const advertisers = col("text", 32);
  const rawAdvertiserIds = col("text", 32);
  const advertiserIds = col("text", 32);
  const adIds = col("text", 32);
  const amounts = col("int8");
  const budgets = col("int8");
  const eventMs = col("int8");
  const silverKinds = col("text");
  const isValid = col("bool");
  const errorCodes = col("text");
  const warnings = col("text");
  const years = col("int4");
  const months = col("int4");
  const days = col("int4");
  const hours = col("int4");
  const goldWindows = col("int8");
  const cGross = col("int8");
  const cNet = col("int8");
  const cRecords = col("int4");
  const cValid = col("int4");
  const cInvalid = col("int4");
  const cDuplicate = col("int4");
  const firstTopics = col("text");
  const firstPartitions = col("int4");
  const firstOffsets = col("int8");
  const generations = col("int4", 4);
  const firstGenerations = col("int4", 4);
  const bGenerations = col("int4", 4);
  const cOverCap = col("int8");
  const bModes = col("text");
  const bPeriods = col("text");
  const bZones = col("text");
  const bPacings = col("text");
  const budgetTypes: PgElementType[] = [
    "text",
    "text",
    "int8",
    "int8",
    "text",
    "text",
    "int4",
    "int8",
    "int8",
  ];
  const budgetColumns = budgetTypes.map((type) => new PgBinaryArray(type, records.length * 16));
  const [
    bAdvertiserIds,
    bAdvertisers,
    bEventMs,
    bBudgets,
    bSources,
    bTopics,
    bPartitions,
    bOffsets,
    bKafkaMs,
  ] = budgetColumns as [
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
    PgBinaryArray,
  ];

  // Columns only Bronze reads stay empty when Bronze is written elsewhere (bronze_copy, or reprocessing, which
  // keeps it): unnest pads them with NULLs, and the payloads need not travel twice.
  const bronze = options.writeBronze;
  const perRecord = options.writeSilver ?? true;
  if (bronze && !perRecord) throw new RangeError("writing Bronze through write_batch needs writeSilver");
  for (const r of records) {
    if (r.budget !== null) {
      bAdvertiserIds.text(r.budget.advertiserId);
      bAdvertisers.text(r.parse.ok ? r.parse.advertiser : null);
      bEventMs.integer(r.budget.eventTimeMs);
      bBudgets.integer(r.budget.budgetMicros);
      bSources.text(r.budget.source);
      bTopics.text(r.topic);
      bPartitions.integer(r.partition);
      bOffsets.bigint(r.offset);
      bKafkaMs.integer(r.kafkaMs);
      bGenerations.integer(r.generation);
      bModes.text(r.budgetMode);
      bPeriods.text(r.budgetPeriod);
      bZones.text(r.timeZone);
      bPacings.text(r.pacing);
    }
    if (!perRecord) continue;
    topics.text(r.topic);
    partitions.integer(r.partition);
    offsets.bigint(r.offset);
    kafkaMs.integer(r.kafkaMs);
    if (bronze) {
      keys.bytes(r.key);
      const payload = storedPayload(r.value, options.maxStoredPayloadBytes);
      payloads.bytes(payload.bytes);
      truncated.boolean(payload.truncated);
      payloadBytes.integer(r.payloadBytes);
    }
    const c = r.contribution;
    // No contribution (rejected records, budget updates): no Gold window, zero counts.
    goldWindows.integer(c?.windowStartMs ?? null);
    cGross.integer(c?.grossMicros ?? 0);
    cNet.integer(c?.netMicros ?? 0);
    cOverCap.integer(c?.overCapMicros ?? 0);
    cRecords.integer(c?.records ?? 0);
    cValid.integer(c?.validClicks ?? 0);
    cInvalid.integer(c?.invalidClicks ?? 0);
    cDuplicate.integer(c?.duplicateClicks ?? 0);
    const first = r.first;
    firstTopics.text(first?.topic);
    firstPartitions.integer(first?.partition);
    firstOffsets.bigint(first?.offset);
    generations.integer(r.generation);
    firstGenerations.integer(first?.generation);
    silverKinds.text(r.silver);
    if (!r.parse.ok) {
      if (bronze) {
        rejectionReasons.text(r.parse.reason);
        rejectionDetails.text(storedRejectionDetail(r.parse.detail));
        rawAdvertiserIds.text(null);
      }
      for (const column of [eventTypes, clickIds, advertisers, advertiserIds, adIds]) column.text(null);
      for (const column of [amounts, budgets, eventMs, years, months, days, hours]) column.integer(null);
      isValid.boolean(null);
      errorCodes.text(null);
      warnings.text(null);
      continue;
    }
    const e = r.parse;
    if (bronze) {
      rejectionReasons.text(null);
      rejectionDetails.text(null);
      // Bronze keeps advertiser_id as sent: absent when core defaulted it to the advertiser name.
      rawAdvertiserIds.text(e.warnings.includes("advertiser_id_defaulted") ? null : e.advertiserId);
    }
    eventTypes.text(e.eventType);
    clickIds.text(e.clickId);
    advertisers.text(e.advertiser);
    advertiserIds.text(e.advertiserId);
    adIds.text(e.adId);
    amounts.integer(e.amountMicros);
    budgets.integer(e.budgetMicros);
    eventMs.integer(e.eventTimeMs);
    isValid.boolean(e.isValid);
    errorCodes.text(e.errors.join(","));
    warnings.text(e.warnings.join(","));
    if (e.eventTimeMs === null) {
      for (const column of [years, months, days, hours]) column.integer(null);
    } else {
      const b = timeBuckets(e.eventTimeMs);
      years.integer(b.ingestYear);
      months.integer(b.ingestMonth);
      days.integer(b.ingestDay);
      hours.integer(b.ingestHour);
    }
  }

  const goldColumn = (
    type: PgElementType,
    append: (builder: PgBinaryArray, d: GoldDelta) => void,
  ): Buffer => {
    const builder = new PgBinaryArray(type, gold.length * 16);
    for (const d of gold) append(builder, d);
    return builder.build();
  };
  const offsetColumn = (
    type: PgElementType,
    append: (builder: PgBinaryArray, o: (typeof nextOffsets)[number]) => void,
  ): Buffer => {
    const builder = new PgBinaryArray(type, nextOffsets.length * 16);
    for (const o of nextOffsets) append(builder, o);
    return builder.build();
  };
  const arrays: unknown[] = [
    ...[topics, partitions, offsets, kafkaMs, keys, payloads, payloadBytes, truncated, rejectionReasons],
    ...[rejectionDetails, eventTypes, clickIds, advertisers, rawAdvertiserIds, advertiserIds, adIds, amounts],
    ...[
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
    ],
    ...[cGross, cNet, cRecords, cValid, cInvalid, cDuplicate, firstTopics, firstPartitions, firstOffsets],
  ]
    .map((builder) => builder.build())
    .concat([
      goldColumn("text", (b, d) => b.text(d.advertiserId)),
      goldColumn("text", (b, d) => b.text(d.advertiser)),
      goldColumn("int8", (b, d) => b.integer(d.windowStartMs)),
      goldColumn("int8", (b, d) => b.integer(d.grossMicros)),
      goldColumn("int8", (b, d) => b.integer(d.netMicros)),
      goldColumn("int8", (b, d) => b.integer(d.records)),
      goldColumn("int8", (b, d) => b.integer(d.validClicks)),
      goldColumn("int8", (b, d) => b.integer(d.invalidClicks)),
      goldColumn("int8", (b, d) => b.integer(d.duplicateClicks)),
      goldColumn("int8", (b, d) => b.integer(d.lastEventTimeMs)),
      ...budgetColumns.map((builder) => builder.build()),
    ]);
  arrays.push(
    options.pipeline,
    offsetColumn("text", (b, o) => b.text(o.topic)),
    offsetColumn("int4", (b, o) => b.integer(o.partition)),
    offsetColumn("int8", (b, o) => b.bigint(o.offset)),
    options.writeBronze,
    generations.build(),
    firstGenerations.build(),
    bGenerations.build(),
    cOverCap.build(),
    goldColumn("int8", (b, d) => b.integer(d.overCapMicros)),
    bModes.build(),
    bPeriods.build(),
    bZones.build(),
    options.timeZone ?? "UTC",
    bPacings.build(),
  );
  return arrays;
}
