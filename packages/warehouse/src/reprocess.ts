import { DEFAULT_TIME_ZONE } from "@adpipe/core";
import type { Pool } from "pg";
import { claimClicks, reevaluateServingScope, type ServingRules } from "./batch-writer.js";
import { billBatch } from "./billing.js";
import {
  aggregateGold,
  DEFAULT_MAX_STORED_PAYLOAD_BYTES,
  deriveRecords,
  type ParseLimits,
  parseRecords,
  servingScope,
} from "./derive.js";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";
import type { KafkaRecord } from "./records.js";
import { writeBatchParams } from "./write-params.js";

export interface ReprocessOptions extends ServingRules {
  /** Kafka record time range [fromMs, toMs) of the Bronze records to rebuild Silver and Gold from. */
  fromMs: number;
  toMs: number;
  /** Must equal the ingestor's parse limits, or the rebuild judges records differently from the first pass. */
  parseLimits?: ParseLimits;
  /** Bronze records per page. Default 5000. */
  pageSize?: number;
  /** Called after the count and after every page. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

export interface ReprocessResult {
  /** Bronze records replayed. */
  readonly records: number;
  /** Gold rows whose sums the removal of the old Silver rows changed. */
  readonly goldRowsAdjusted: number;
  readonly goldRowsDeleted: number;
  readonly servingUpdates: number;
}

function addScope(scope: Map<string, number>, advertiserId: string, fromMs: number): void {
  const current = scope.get(advertiserId);
  if (current === undefined || fromMs < current) scope.set(advertiserId, fromMs);
}

/**
 * Rebuilds Silver and Gold for the Bronze records with Kafka record time in [fromMs, toMs) — the seed's
 * run_bronze_to_silver and run_silver_to_gold, for one range, idempotently, in ONE transaction:
 * removes the range's Silver rows, click claims and budget observations and subtracts their Gold contributions,
 * replays the range's Bronze records in partition order through the same code as the ingestor, then cleans up
 * emptied Gold rows and re-evaluates serving decisions. Running it twice gives the same result as once.
 * Live ingestor batches wait (a table lock on the offsets) until it commits.
 * Assumption: later ranges' records were not the first occurrence of a click_id that is also in this range (true
 * unless the range was never ingested before: then run it before any later range).
 */
export async function reprocess(pool: Pool, options: ReprocessOptions): Promise<ReprocessResult> {
  const { fromMs, toMs } = options;
  if (!(Number.isSafeInteger(fromMs) && Number.isSafeInteger(toMs) && fromMs < toMs)) {
    throw new WarehouseError("range_invalid", "reprocess needs integer epoch-ms bounds with from < to");
  }
  const pageSize = options.pageSize ?? 5_000;
  const client = await pool.connect();
  let inTransaction = false;
  try {
    // Silver partitions exist wherever Bronze has rows: ensure_day_partitions creates all layers' days together.
    await client.query("BEGIN");
    inTransaction = true;
    // Serialise with live ingestor batches (they take ROW EXCLUSIVE on the offsets table first).
    await client.query("LOCK TABLE ingest.consumer_offsets IN SHARE ROW EXCLUSIVE MODE");
    const { rows: countRows } = await client.query<{ records: string }>(
      queryConfig("bronze_count", [fromMs, toMs]),
    );
    const total = Number(countRows[0]?.records ?? 0);
    options.onProgress?.({ done: 0, total });

    const scope = new Map<string, number>();
    const touchedKeys = new Map<string, { advertiserId: string; windowMs: number }>();
    const removed = await client.query<{ advertiser_id: string; from_ms: string; window_ms: string | null }>(
      queryConfig("reprocess_remove_silver", [fromMs, toMs]),
    );
    for (const row of removed.rows) {
      addScope(scope, row.advertiser_id, Number(row.from_ms));
      if (row.window_ms !== null) {
        touchedKeys.set(`${row.advertiser_id}\u0000${row.window_ms}`, {
          advertiserId: row.advertiser_id,
          windowMs: Number(row.window_ms),
        });
      }
    }

    let done = 0;
    let after: { topic: string; partition: number; generation: number; offset: string } = {
      topic: "",
      partition: -1,
      generation: -1,
      offset: "-1",
    };
    for (;;) {
      const page = await client.query<{
        topic: string;
        partition: number;
        generation: number;
        offset: string;
        kafka_ms: string;
        record_key: Buffer | null;
        raw_payload: Buffer | null;
      }>(
        queryConfig("bronze_page", [
          fromMs,
          toMs,
          after.topic,
          after.partition,
          after.generation,
          after.offset,
          pageSize,
        ]),
      );
      if (page.rows.length === 0) break;
      const records: KafkaRecord[] = page.rows.map((row) => ({
        topic: row.topic,
        partition: row.partition,
        generation: row.generation,
        offset: row.offset,
        timestampMs: Number(row.kafka_ms),
        key: row.record_key,
        value: row.raw_payload,
      }));
      const parsed = parseRecords(records, options.parseLimits);
      const firstOf = await claimClicks(client, parsed);
      // Records logged after the range are still stored: the clamp's state leaves them out.
      const derived = await billBatch(client, deriveRecords(parsed, firstOf), options, toMs);
      const gold = aggregateGold(derived);
      await client.query(
        queryConfig(
          "write_batch",
          writeBatchParams({
            records: derived,
            gold,
            pipeline: "",
            nextOffsets: [],
            writeBronze: false,
            maxStoredPayloadBytes: DEFAULT_MAX_STORED_PAYLOAD_BYTES,
            timeZone: options.timeZone ?? DEFAULT_TIME_ZONE,
          }),
        ),
      );
      for (const [advertiserId, from] of servingScope(derived)) addScope(scope, advertiserId, from);
      for (const delta of gold) {
        touchedKeys.set(`${delta.advertiserId}\u0000${delta.windowStartMs}`, {
          advertiserId: delta.advertiserId,
          windowMs: delta.windowStartMs,
        });
      }
      done += page.rows.length;
      options.onProgress?.({ done, total: Math.max(total, done) });
      const last = page.rows.at(-1)!;
      after = {
        topic: last.topic,
        partition: last.partition,
        generation: last.generation,
        offset: last.offset,
      };
    }

    const keys = [...touchedKeys.values()];
    const { rows: finished } = await client.query<{ deleted: number }>(
      queryConfig("gold_finish_rebuild", [keys.map((k) => k.advertiserId), keys.map((k) => k.windowMs)]),
    );
    const servingUpdates = await reevaluateServingScope(client, scope, options);
    await client.query("COMMIT");
    inTransaction = false;
    return {
      records: done,
      goldRowsAdjusted: removed.rows.filter((row) => row.window_ms !== null).length,
      goldRowsDeleted: finished[0]?.deleted ?? 0,
      servingUpdates,
    };
  } catch (error) {
    if (inTransaction) await client.query("ROLLBACK").catch(() => undefined);
    if (error instanceof WarehouseError) throw error;
    throw new WarehouseError("batch_write_failed", "reprocessing failed (rolled back)", { cause: error });
  } finally {
    client.release();
  }
}
