import { generateStream } from "@adpipe/core";
import type { KafkaRecord } from "@adpipe/warehouse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aggregateGold,
  deriveRecords,
  type FirstOccurrence,
  type ParsedRecord,
  parseRecords,
} from "../../../packages/warehouse/src/derive.js";
import { PartitionCache } from "../../../packages/warehouse/src/partitions.js";
import { queryConfig } from "../../../packages/warehouse/src/queries.js";
import { copySilver } from "../../../packages/warehouse/src/silver-copy.js";
import { writeBatchParams } from "../../../packages/warehouse/src/write-params.js";
import { createTestDatabase, type TestDatabase } from "./support.js";

/** Later records of a dedup key point at the batch's first one (what claimClicks gives for an in-batch repeat). */
function inBatchFirst(): (record: ParsedRecord) => FirstOccurrence | null {
  const first = new Map<string, ParsedRecord>();
  return (record) => {
    if (record.dedupKey === null) return null;
    const seen = first.get(record.dedupKey);
    if (seen === undefined) {
      first.set(record.dedupKey, record);
      return null;
    }
    return {
      topic: seen.topic,
      partition: seen.partition,
      generation: seen.generation,
      offset: `${seen.offset}`,
    };
  };
}

/** The same records written by silver_*_copy and by write_batch's Silver INSERTs give identical Silver rows. */
describe("Silver through COPY equals Silver through the batch statement", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("silver_copy");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("every column of both Silver tables but the topic and processed_at", async () => {
    const start = Date.UTC(2026, 10, 25, 22, 0, 0);
    const generated = [...generateStream({ seed: 91, events: 3_000, advertisers: 12, startMs: start })];
    const handMade = [
      {
        key: "money",
        value: JSON.stringify({
          event_type: "ad_click",
          click_id: "c-money",
          advertiser: "Ünïcode ✓",
          advertiser_id: "adv-m",
          ad_id: "ad-1",
          amount: "0.000001",
          budget_value: "12345678.123456",
          timestamp: new Date(start - 1_000).toISOString(),
        }),
        timestampMs: start,
      },
      {
        key: "no-time",
        value: JSON.stringify({ event_type: "ad_click", click_id: "c-nt", advertiser: "n", amount: 1 }),
        timestampMs: start,
      },
      {
        key: "repeat",
        value: JSON.stringify({
          event_type: "ad_click",
          click_id: "c-money",
          advertiser: "Ünïcode ✓",
          advertiser_id: "adv-m",
          amount: -2.5,
          timestamp: "4321-05-06T07:08:09.123Z",
        }),
        timestampMs: Date.UTC(6000, 0, 1, 0, 0, 0, 7),
      },
    ];
    const records = (topic: string): KafkaRecord[] =>
      [...generated, ...handMade].map((r, i) => ({
        topic,
        partition: i % 3,
        offset: String(Math.floor(i / 3)),
        timestampMs: r.timestampMs,
        key: r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
      }));
    const derive = (topic: string) => {
      const parsed = parseRecords(records(topic), {}, 3);
      return deriveRecords(parsed, inBatchFirst());
    };
    const write = async (topic: string, viaCopy: boolean) => {
      const derived = derive(topic);
      const client = await db.pool.connect();
      try {
        await new PartitionCache().ensure(
          client,
          derived.map((r) => r.kafkaMs),
        );
        await client.query("BEGIN");
        if (viaCopy) await copySilver(client, derived);
        await client.query(
          queryConfig(
            "write_batch",
            writeBatchParams({
              records: derived,
              gold: aggregateGold(derived),
              pipeline: "",
              nextOffsets: [],
              writeBronze: false,
              writeSilver: !viaCopy,
              maxStoredPayloadBytes: 1024,
            }),
          ),
        );
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    };
    await write("silver-copy", true);
    await write("silver-insert", false);
    const columns = `event_type, click_id, advertiser, advertiser_id, ad_id, amount::text, budget_value::text,
      "timestamp"::text, is_valid, ingest_year, ingest_month, ingest_day, ingest_hour, error_codes::text,
      warnings::text, gold_window_start::text, contrib_gross_micros::text, contrib_net_micros::text,
      contrib_records, contrib_valid_clicks, contrib_invalid_clicks, contrib_duplicate_clicks,
      contrib_over_cap_micros::text, "partition", "offset"::text, kafka_timestamp::text, topic_generation`;
    const read = async (table: string, topic: string, extra = "") => {
      const { rows } = await db.pool.query<Record<string, unknown>>(
        `SELECT ${columns}${extra} FROM silver.${table} WHERE topic = $1 ORDER BY "partition", "offset"`,
        [topic],
      );
      return rows;
    };
    const cleanCopy = await read("ad_click_events_clean", "silver-copy");
    expect(cleanCopy.length).toBeGreaterThan(2_000);
    expect(cleanCopy).toEqual(await read("ad_click_events_clean", "silver-insert"));
    const firstColumns =
      ", first_topic IS NULL AS no_first, first_partition, first_offset::text, first_generation";
    const duplicateCopy = await read("duplicate_clicks", "silver-copy", firstColumns);
    expect(duplicateCopy.length).toBeGreaterThan(0);
    expect(duplicateCopy).toEqual(await read("duplicate_clicks", "silver-insert", firstColumns));
    // The edge cases are really in there: findings, money at the micro, a time past 2255, a missing time.
    expect(cleanCopy.some((r) => r.error_codes !== "{}")).toBe(true);
    expect(cleanCopy.some((r) => r.warnings !== "{}")).toBe(true);
    expect(cleanCopy.some((r) => r.amount === "0.000001" && r.budget_value === "12345678.123456")).toBe(true);
    expect(duplicateCopy.some((r) => String(r.timestamp).startsWith("4321-05-06"))).toBe(true);
    expect(cleanCopy.some((r) => r.timestamp === null && r.ingest_year === null)).toBe(true);
  });
});
