import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { computeOracle, type Oracle } from "@adpipe/core/testing";
import { type KafkaRecord, writeBatch } from "@adpipe/warehouse";
import type pg from "pg";

export interface GoldFixture {
  readonly records: readonly GeneratedRecord[];
  readonly oracle: Oracle;
}

const CHUNK = 500;

/**
 * Runs a generated stream (duplicates, malformed and late events, budget updates) through the
 * warehouse's own batch writer, as the ingestor does per consumed batch, so Gold and its views hold
 * exactly what the oracle predicts for the same records.
 */
export async function loadGeneratedStream(
  admin: pg.Pool,
  topic: string,
  options: { seed: number; events: number; advertisers: number },
): Promise<GoldFixture> {
  const records = [...generateStream(options)];
  const kafkaRecords: KafkaRecord[] = records.map((record, offset) => ({
    topic,
    partition: 0,
    offset,
    timestampMs: record.timestampMs,
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
  }));
  const client = await admin.connect();
  try {
    for (let start = 0; start < kafkaRecords.length; start += CHUNK) {
      await writeBatch(client, { pipeline: "api-test", records: kafkaRecords.slice(start, start + CHUNK) });
    }
  } finally {
    client.release();
  }
  const oracle = computeOracle(
    records.map((record, offset) => ({
      value: record.value,
      timestampMs: record.timestampMs,
      key: record.key,
      partition: 0,
      offset,
    })),
  );
  return { records, oracle };
}
