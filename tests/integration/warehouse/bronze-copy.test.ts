import { generateStream } from "@adpipe/core";
import type { KafkaRecord } from "@adpipe/warehouse";
import fc from "fast-check";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyBronze } from "../../../packages/warehouse/src/bronze-copy.js";
import { aggregateGold, deriveRecords, parseRecords } from "../../../packages/warehouse/src/derive.js";
import { PartitionCache } from "../../../packages/warehouse/src/partitions.js";
import { PgCopyBinary } from "../../../packages/warehouse/src/pg-copy-binary.js";
import { queryConfig } from "../../../packages/warehouse/src/queries.js";
import { writeBatchParams } from "../../../packages/warehouse/src/write-params.js";
import { testServices } from "../../support/index.js";
import { createTestDatabase, type TestDatabase } from "./support.js";

async function copyInto(client: pg.ClientBase, statement: string, data: Buffer): Promise<void> {
  const stream = client.query(copyFrom(statement));
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve);
    stream.once("error", reject);
    stream.end(data);
  });
}

/** Money and time fields of the binary COPY rows are what the batch statement's SQL expressions computed. */
describe("binary COPY fields through Postgres", () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: testServices().databaseUrl });
    await client.connect();
    await client.query(
      "CREATE TEMP TABLE copy_fields (m bigint, n numeric(20, 6), ms bigint, t timestamptz, s text, b bytea, i integer, f boolean)",
    );
  });
  afterAll(async () => {
    await client?.end();
  });

  it("numeric from micros and timestamptz from epoch ms equal `micros * 0.000001` and `'epoch' + ms`", async () => {
    // Years 1..9999: the timestamps parsing accepts; beyond 2255 Postgres' own float8 product is rounded.
    const micros = fc.oneof(
      fc.integer({ min: -2_000_000, max: 2_000_000 }),
      fc.maxSafeInteger(),
      fc.constantFrom(0, 1, -1, 100, 999_999, 1_000_000, 10_000_000_000, 99_999_999_999_999, -123_456_789),
    );
    const ms = fc.oneof(
      fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }),
      fc.constantFrom(0, -1, 946_684_800_000, 946_684_799_999, 253_402_300_799_999, -62_135_596_800_000),
    );
    const text = fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\u0000"));
    const row = fc.record({
      m: fc.option(micros, { nil: null }),
      ms: fc.option(ms, { nil: null }),
      s: fc.option(text, { nil: null }),
      b: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
      i: fc.option(fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }), { nil: null }),
      f: fc.option(fc.boolean(), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 20 }), async (rows) => {
        const data = new PgCopyBinary();
        for (const r of rows) {
          data.row(8);
          data.int8(r.m);
          data.numericMicros(r.m);
          data.int8(r.ms);
          data.timestampMs(r.ms);
          data.text(r.s);
          data.bytes(r.b);
          data.int4(r.i);
          data.bool(r.f);
        }
        await client.query("TRUNCATE copy_fields");
        await copyInto(client, "COPY copy_fields FROM STDIN (FORMAT binary)", data.build());
        const { rows: back } = await client.query<{
          n: string | null;
          expected_n: string | null;
          t: string | null;
          expected_t: string | null;
          s: string | null;
          b: Buffer | null;
          i: number | null;
          f: boolean | null;
        }>(
          `SELECT n::text, (m * 0.000001)::numeric(20, 6)::text AS expected_n,
                  t::text, ('epoch'::timestamptz + ms * interval '1 millisecond')::text AS expected_t, s, b, i, f
           FROM copy_fields`,
        );
        expect(back.map((r) => r.n)).toEqual(back.map((r) => r.expected_n));
        // Compared as Postgres prints them (pg's Date parsing of far-future timestamps can be a millisecond off).
        expect(back.map((r) => r.t)).toEqual(back.map((r) => r.expected_t));
        expect(back.map((r) => r.t === null)).toEqual(rows.map((r) => r.ms === null));
        expect(back.map((r) => r.s)).toEqual(rows.map((r) => r.s));
        expect(back.map((r) => (r.b === null ? null : [...r.b]))).toEqual(
          rows.map((r) => (r.b === null ? null : [...r.b])),
        );
        expect(back.map((r) => r.i)).toEqual(rows.map((r) => r.i));
        expect(back.map((r) => r.f)).toEqual(rows.map((r) => r.f));
      }),
      { numRuns: 150 },
    );
  });

  it("a row Postgres refuses fails the COPY loudly", async () => {
    const data = new PgCopyBinary();
    data.row(8);
    data.int8(1);
    data.numericMicros(1);
    data.int8(1);
    data.timestampMs(1);
    data.text("\u0000");
    data.bytes(null);
    data.int4(1);
    data.bool(true);
    await expect(
      copyInto(client, "COPY copy_fields FROM STDIN (FORMAT binary)", data.build()),
    ).rejects.toThrow(/invalid byte sequence|0x00/);
  });
});

/** The same records written by bronze_copy and by write_batch's Bronze INSERT give identical Bronze rows. */
describe("Bronze through COPY equals Bronze through the batch statement", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("bronze_copy");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("every column but the topic and ingested_at, for the generated stream and hand-made edge cases", async () => {
    const start = Date.UTC(2026, 10, 25, 22, 0, 0);
    const generated = [...generateStream({ seed: 77, events: 3_000, advertisers: 15, startMs: start })];
    const handMade: { key: string | null; value: Uint8Array | null; timestampMs: number }[] = [
      { key: null, value: null, timestampMs: start },
      { key: "k", value: new Uint8Array(0), timestampMs: start },
      { key: "bad", value: Buffer.from('{"event_type": "ad_click", \u0000 oops'), timestampMs: start },
      { key: "utf8", value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), timestampMs: start },
      { key: "big", value: Buffer.from(`{"pad":"${"x".repeat(900)}"}`), timestampMs: start },
      {
        key: "money",
        value: Buffer.from(
          JSON.stringify({
            event_type: "ad_click",
            click_id: "c-money",
            advertiser: "Ünïcode ✓",
            advertiser_id: "adv-m",
            ad_id: "ad-1",
            amount: "0.000001",
            budget_value: "12345678.123456",
            timestamp: new Date(start - 1_000).toISOString(),
          }),
        ),
        timestampMs: start,
      },
      {
        key: "negative",
        value: Buffer.from(
          JSON.stringify({
            event_type: "ad_click",
            click_id: "c-neg",
            advertiser: "n",
            amount: -5.25,
            timestamp: "1970-01-01T00:00:00Z",
          }),
        ),
        timestampMs: 0,
      },
      {
        // Times past 2255, where Postgres' float8 interval product rounds the microseconds.
        key: "far-future",
        value: Buffer.from(
          JSON.stringify({
            event_type: "ad_click",
            click_id: "c-far",
            advertiser: "f",
            amount: 1,
            timestamp: "4321-05-06T07:08:09.123Z",
          }),
        ),
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
    const maxStoredPayloadBytes = 512;
    const derive = (topic: string) => {
      const parsed = parseRecords(records(topic), {}, 2);
      return deriveRecords(parsed, () => null);
    };
    const client = await db.pool.connect();
    try {
      const copied = derive("bronze-copy");
      const inserted = derive("bronze-insert");
      await new PartitionCache().ensure(
        client,
        copied.map((r) => r.kafkaMs),
      );
      await client.query("BEGIN");
      expect(await copyBronze(client, copied, maxStoredPayloadBytes)).toBe(copied.length);
      await client.query(
        queryConfig(
          "write_batch",
          writeBatchParams({
            records: inserted,
            gold: aggregateGold(inserted),
            pipeline: "",
            nextOffsets: [],
            writeBronze: true,
            maxStoredPayloadBytes,
          }),
        ),
      );
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const read = async (topic: string) => {
      const { rows } = await db.pool.query<Record<string, string | null>>(
        `SELECT event_type, click_id, advertiser, advertiser_id, ad_id, amount::text, budget_value::text,
                "timestamp"::text, "partition"::text, "offset"::text, kafka_timestamp::text,
                encode(record_key, 'hex') AS record_key, encode(raw_payload, 'hex') AS raw_payload,
                payload_bytes::text, payload_truncated::text, parse_status, rejection_reason, rejection_detail,
                topic_generation::text
         FROM bronze.ad_click_events_raw WHERE topic = $1 ORDER BY "partition", "offset"`,
        [topic],
      );
      return rows;
    };
    const viaCopy = await read("bronze-copy");
    const viaInsert = await read("bronze-insert");
    expect(viaCopy).toHaveLength(generated.length + handMade.length);
    expect(viaCopy).toEqual(viaInsert);
    // The edge cases are really in there: a cut payload, rejections, money at the micro.
    expect(viaCopy.filter((r) => r.payload_truncated === "true")).toHaveLength(1);
    expect(viaCopy.filter((r) => r.parse_status === "rejected").length).toBeGreaterThanOrEqual(4);
    expect(viaCopy.some((r) => r.amount === "0.000001" && r.budget_value === "12345678.123456")).toBe(true);
    expect(viaCopy.some((r) => r.timestamp?.startsWith("4321-05-06"))).toBe(true);
  });
});
