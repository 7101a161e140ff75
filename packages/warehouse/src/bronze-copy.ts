import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { ParsedRecord } from "./derive.js";
import { PgCopyBinary } from "./pg-copy-binary.js";
import { namedQuery } from "./queries.js";

/** Columns of sql/queries/bronze_copy.sql, in its order. */
const BRONZE_FIELDS = 20;

/** What Bronze stores of a payload: at most `maxBytes` of it, and whether it was cut. */
export function storedPayload(
  value: Uint8Array | null,
  maxBytes: number,
): { readonly bytes: Uint8Array | null; readonly truncated: boolean } {
  if (value === null || value.byteLength <= maxBytes) return { bytes: value, truncated: false };
  return { bytes: value.subarray(0, maxBytes), truncated: true };
}

/**
 * Postgres text cannot hold NUL, and V8's JSON.parse message quotes the payload it choked on: unescaped, a record
 * with a NUL in bad JSON would fail its whole batch on every retry and stall the partition. The raw payload keeps
 * the exact bytes; the detail shows the NUL escaped.
 */
export function storedRejectionDetail(detail: string): string {
  return detail.replaceAll("\u0000", "\\u0000");
}

/** The Bronze rows of records in binary COPY format (columns of sql/queries/bronze_copy.sql). */
export function bronzeCopyRows(records: readonly ParsedRecord[], maxStoredPayloadBytes: number): Buffer {
  let expected = 0;
  for (const r of records) expected += 240 + Math.min(r.payloadBytes, maxStoredPayloadBytes);
  const rows = new PgCopyBinary(expected);
  for (const r of records) {
    rows.row(BRONZE_FIELDS);
    const e = r.parse;
    if (e.ok) {
      rows.text(e.eventType);
      rows.text(e.clickId);
      rows.text(e.advertiser);
      // Bronze keeps advertiser_id as sent: absent when core defaulted it to the advertiser name.
      rows.text(e.warnings.includes("advertiser_id_defaulted") ? null : e.advertiserId);
      rows.text(e.adId);
      rows.numericMicros(e.amountMicros);
      rows.numericMicros(e.budgetMicros);
      rows.timestampMs(e.eventTimeMs);
    } else {
      for (let field = 0; field < 8; field++) rows.null();
    }
    rows.text(r.topic);
    rows.int4(r.partition);
    rows.int8(r.offset);
    rows.timestampMs(r.kafkaMs);
    rows.bytes(r.key);
    const payload = storedPayload(r.value, maxStoredPayloadBytes);
    rows.bytes(payload.bytes);
    rows.int4(r.payloadBytes);
    rows.bool(payload.truncated);
    if (e.ok) {
      rows.text("parsed");
      rows.null();
      rows.null();
    } else {
      rows.text("rejected");
      rows.text(e.reason);
      rows.text(storedRejectionDetail(e.detail));
    }
    rows.int4(r.generation);
  }
  return rows.build();
}

/**
 * Writes the records' Bronze rows with one binary COPY on the caller's connection (inside its transaction).
 * Rejects with Postgres' error (the transaction is then aborted: the caller rolls back).
 */
export async function copyBronze(
  client: ClientBase,
  records: readonly ParsedRecord[],
  maxStoredPayloadBytes: number,
): Promise<number> {
  if (records.length === 0) return 0;
  const data = bronzeCopyRows(records, maxStoredPayloadBytes);
  const stream = client.query(copyFrom(namedQuery("bronze_copy").text));
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve);
    stream.once("error", reject);
    stream.end(data);
  });
  return stream.rowCount;
}
