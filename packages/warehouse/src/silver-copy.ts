import { timeBuckets } from "@adpipe/core";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { DerivedRecord } from "./derive.js";
import { PgCopyBinary } from "./pg-copy-binary.js";
import { namedQuery } from "./queries.js";

/** Columns of sql/queries/silver_clean_copy.sql and silver_duplicate_copy.sql, in their order. */
const CLEAN_FIELDS = 28;
const DUPLICATE_FIELDS = 31;

/** The fields both Silver tables start with (event columns, buckets, findings, contribution): 22 of them. */
function eventFields(rows: PgCopyBinary, r: DerivedRecord): void {
  const e = r.parse;
  if (!e.ok) throw new RangeError("a rejected record has no Silver row");
  rows.text(e.eventType);
  rows.text(e.clickId);
  rows.text(e.advertiser);
  rows.text(e.advertiserId);
  rows.text(e.adId);
  rows.numericMicros(e.amountMicros);
  rows.numericMicros(e.budgetMicros);
  rows.timestampMs(e.eventTimeMs);
  rows.bool(e.isValid);
  if (e.eventTimeMs === null) {
    for (let field = 0; field < 4; field++) rows.null();
  } else {
    const b = timeBuckets(e.eventTimeMs);
    rows.int4(b.ingestYear);
    rows.int4(b.ingestMonth);
    rows.int4(b.ingestDay);
    rows.int4(b.ingestHour);
  }
  // write_batch stored string_to_array(codes joined by ',', ','): the codes themselves (closed lists, no commas).
  rows.textArray(e.errors);
  rows.textArray(e.warnings);
  const c = r.contribution;
  // No contribution: no Gold window, zero counts (the batch statement's defaults).
  rows.timestampMs(c?.windowStartMs ?? null);
  rows.int8(c?.grossMicros ?? 0);
  rows.int8(c?.netMicros ?? 0);
  rows.int4(c?.records ?? 0);
  rows.int4(c?.validClicks ?? 0);
  rows.int4(c?.invalidClicks ?? 0);
  rows.int4(c?.duplicateClicks ?? 0);
}

function lineageFields(rows: PgCopyBinary, r: DerivedRecord): void {
  rows.text(r.topic);
  rows.int4(r.partition);
  rows.int8(r.offset);
  rows.timestampMs(r.kafkaMs);
  rows.int4(r.generation);
}

/**
 * The Silver rows of derived records in binary COPY format: `clean` for silver.ad_click_events_clean, `duplicate`
 * for silver.duplicate_clicks (null when the batch has none of that kind). Rejected records have no Silver row.
 */
export function silverCopyRows(records: readonly DerivedRecord[]): {
  readonly clean: Buffer | null;
  readonly duplicate: Buffer | null;
} {
  const clean = new PgCopyBinary(records.length * 320);
  let duplicate: PgCopyBinary | null = null;
  for (const r of records) {
    if (r.silver === "clean") {
      clean.row(CLEAN_FIELDS);
      eventFields(clean, r);
      lineageFields(clean, r);
      clean.int8(r.contribution?.overCapMicros ?? 0);
    } else if (r.silver === "duplicate") {
      duplicate ??= new PgCopyBinary(4096);
      duplicate.row(DUPLICATE_FIELDS);
      eventFields(duplicate, r);
      const first = r.first;
      duplicate.text(first?.topic);
      duplicate.int4(first?.partition);
      duplicate.int8(first?.offset);
      lineageFields(duplicate, r);
      duplicate.int4(first?.generation);
    }
  }
  return {
    clean: clean.rowCount === 0 ? null : clean.build(),
    duplicate: duplicate === null ? null : duplicate.build(),
  };
}

async function copyRows(client: ClientBase, statement: string, data: Buffer): Promise<number> {
  const stream = client.query(copyFrom(statement));
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve);
    stream.once("error", reject);
    stream.end(data);
  });
  return stream.rowCount;
}

/**
 * Writes the records' Silver rows (clean and duplicate) with binary COPY on the caller's connection, inside its
 * transaction; the caller then builds write_batch's parameters with `writeSilver: false`. Rejects with
 * Postgres' error (the transaction is then aborted: the caller rolls back). Returns the rows written.
 */
export async function copySilver(
  client: ClientBase,
  records: readonly DerivedRecord[],
): Promise<{ clean: number; duplicates: number }> {
  const rows = silverCopyRows(records);
  const clean =
    rows.clean === null ? 0 : await copyRows(client, namedQuery("silver_clean_copy").text, rows.clean);
  const duplicates =
    rows.duplicate === null
      ? 0
      : await copyRows(client, namedQuery("silver_duplicate_copy").text, rows.duplicate);
  return { clean, duplicates };
}
