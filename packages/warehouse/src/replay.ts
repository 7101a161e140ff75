import { DEFAULT_TIME_ZONE } from "@adpipe/core";
import type { ClientBase } from "pg";
import {
  claimClicks,
  orderRecords,
  reevaluateServing,
  tally,
  type WriteBatchOptions,
  type WriteBatchResult,
} from "./batch-writer.js";
import { billBatch } from "./billing.js";
import { copyBronze } from "./bronze-copy.js";
import {
  aggregateGold,
  DEFAULT_MAX_STORED_PAYLOAD_BYTES,
  deriveRecords,
  type ParsedRecord,
  parseRecords,
} from "./derive.js";
import { WarehouseError } from "./errors.js";
import { PartitionCache } from "./partitions.js";
import { queryConfig } from "./queries.js";
import type { KafkaRecord } from "./records.js";
import { copySilver } from "./silver-copy.js";
import { readTopicGeneration } from "./topic-resets.js";
import { writeBatchParams } from "./write-params.js";

export interface ReplayBatchOptions extends WriteBatchOptions {
  /**
   * The live ingestor's pipeline (its consumer group). Records at or past its stored offset of their partition are
   * left to it — it reads them from Kafka; writing them here would collide with its next batch — and a partition it
   * has no stored offset for is refused (WarehouseError "replay_unowned"). null: no ingestor will ever consume
   * this topic into this database, replay everything.
   */
  readonly livePipeline: string | null;
  /**
   * Records with a Kafka time before this are refused (WarehouseError "range_invalid"): retention dropped their
   * Bronze and Silver days while Gold kept their sums, so writing them again would count them twice.
   */
  readonly notBeforeMs?: number;
}

export interface ReplayBatchResult
  extends Pick<
    WriteBatchResult,
    | "received"
    | "written"
    | "rejected"
    | "valid"
    | "invalid"
    | "duplicates"
    | "errorCodes"
    | "goldRows"
    | "servingUpdates"
  > {
  /** Records whose lineage key (topic, partition, offset) Bronze already holds: skipped. */
  readonly alreadyPresent: number;
  /** Records at or past the live pipeline's stored offset: left to the live ingestor. */
  readonly leftToLivePipeline: number;
}

const privatePartitions = new PartitionCache();

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Writes records replayed from outside Kafka (Event Hubs Capture) to Bronze, Silver and Gold with the same rules and
 * the same statements as the ingestor (parseRecords, claimClicks, deriveRecords, write_batch, serving
 * re-evaluation), in ONE transaction, idempotently: a record whose lineage key Bronze already holds — written by the
 * live ingestor or by an earlier replay — is skipped, so running a replay twice writes nothing the second time.
 * Live ingestor batches wait (a table lock on the offsets, as `reprocess` takes) until it commits, so the check and
 * the write cannot race with them. Stored offsets are not changed.
 *
 * Duplicate clicks are judged against what the warehouse already holds: replaying a range older than data already
 * ingested marks an old click as the duplicate of a newer copy (as the ingestor would have, had it seen them in
 * that order).
 */
export async function replayBatch(
  client: ClientBase,
  records: readonly KafkaRecord[],
  options: ReplayBatchOptions,
): Promise<ReplayBatchResult> {
  const parsed = orderRecords(parseRecords(records, options.parseLimits));
  const empty = {
    received: records.length,
    written: 0,
    alreadyPresent: 0,
    leftToLivePipeline: 0,
    rejected: 0,
    valid: 0,
    invalid: 0,
    duplicates: 0,
    errorCodes: {},
    goldRows: 0,
    servingUpdates: 0,
  };
  if (parsed.length === 0) return empty;
  if (options.notBeforeMs !== undefined) {
    const early = parsed.find((r) => r.kafkaMs < (options.notBeforeMs as number));
    if (early !== undefined) {
      throw new WarehouseError(
        "range_invalid",
        `record ${early.topic}/${early.partition}/${early.offset} has time ${new Date(early.kafkaMs).toISOString()}, before ` +
          `${new Date(options.notBeforeMs).toISOString()}: retention dropped Bronze and Silver there while Gold kept ` +
          "their sums, so replaying it would count it twice",
      );
    }
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
    // Serialise with live ingestor batches (they take ROW EXCLUSIVE on the offsets table first) and other replays.
    await client.query("LOCK TABLE ingest.consumer_offsets IN SHARE ROW EXCLUSIVE MODE");

    const byTopic = new Map<string, ParsedRecord[]>();
    for (const r of parsed) {
      const list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, [r]);
      else list.push(r);
    }
    let leftToLivePipeline = 0;
    let alreadyPresent = 0;
    const fresh: ParsedRecord[] = [];
    for (const [topic, byOffset] of byTopic) {
      // Replayed records belong to the log the warehouse reads now: the topic's current generation.
      const { generation } = await readTopicGeneration(client, topic);
      const topicRecords = byOffset.map((r) => ({ ...r, generation }));
      let owned = topicRecords;
      if (options.livePipeline !== null) {
        const frontier = new Map<number, bigint>();
        const { rows } = await client.query<{ partition: number; next_offset: string }>(
          queryConfig("stored_offsets", [options.livePipeline, topic]),
        );
        for (const row of rows) frontier.set(row.partition, BigInt(row.next_offset));
        const unowned = topicRecords.find((r) => !frontier.has(r.partition));
        if (unowned !== undefined) {
          throw new WarehouseError(
            "replay_unowned",
            `the live pipeline ${options.livePipeline} has no stored offset for ${topic} partition ${unowned.partition}: ` +
              "it has not consumed that partition yet, so its first batch could collide with replayed records",
          );
        }
        owned = topicRecords.filter((r) => r.offset < (frontier.get(r.partition) as bigint));
        leftToLivePipeline += topicRecords.length - owned.length;
      }
      if (owned.length === 0) continue;
      const ranges = new Map<number, { first: bigint; last: bigint }>();
      for (const r of owned) {
        const range = ranges.get(r.partition);
        if (range === undefined) ranges.set(r.partition, { first: r.offset, last: r.offset });
        else {
          if (r.offset < range.first) range.first = r.offset;
          if (r.offset > range.last) range.last = r.offset;
        }
      }
      const { rows: present } = await client.query<{ partition: number; offset: string }>(
        queryConfig("bronze_lineage_in_ranges", [
          topic,
          [...ranges.keys()],
          [...ranges.values()].map((range) => range.first.toString()),
          [...ranges.values()].map((range) => range.last.toString()),
          generation,
        ]),
      );
      const presentKeys = new Set(present.map((row) => `${key(topic, row.partition)}\u0000${row.offset}`));
      for (const r of owned) {
        if (presentKeys.has(`${key(topic, r.partition)}\u0000${r.offset}`)) alreadyPresent += 1;
        else fresh.push(r);
      }
    }
    if (fresh.length === 0) {
      await client.query("COMMIT");
      inTransaction = false;
      return { ...empty, alreadyPresent, leftToLivePipeline };
    }

    const firstOf = await claimClicks(client, fresh);
    // Billed after everything the warehouse holds, as if they had arrived now: a hard_cap period's billable net
    // still never passes its budget (filling a gap cannot re-bill the later records already billed without it).
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
          pipeline: "",
          nextOffsets: [],
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
    const { newestValidEventTimeMs: _newest, ...counts } = tally(derived);
    return {
      received: records.length,
      written: fresh.length,
      alreadyPresent,
      leftToLivePipeline,
      ...counts,
      goldRows: rows[0]?.gold ?? 0,
      servingUpdates,
    };
  } catch (error) {
    if (inTransaction) await client.query("ROLLBACK").catch(() => undefined);
    if (error instanceof WarehouseError && error.code !== "ADP_WAREHOUSE_BATCH_WRITE_FAILED") throw error;
    throw new WarehouseError("batch_write_failed", `replaying a batch of ${records.length} records failed`, {
      cause: error,
    });
  }
}
