import {
  type GeneratedRecord,
  type GeneratorOptions,
  generateStream,
  type ParseOptions,
  parseEvent,
} from "@adpipe/core";
import { type PartitionOffset, type SpendRecord, spendRecordOf } from "@adpipe/spend-store";

/** A generated record placed on a partition at an offset, as a keyed producer would place it. */
export interface PlacedRecord extends GeneratedRecord {
  readonly partition: number;
  readonly offset: number;
}

/** Stand-in partitioner (stable per key; null keys round-robin) for tests that do not go through Kafka. */
export function placeRecords(records: Iterable<GeneratedRecord>, partitions: number): PlacedRecord[] {
  const next = new Array<number>(partitions).fill(0);
  let roundRobin = 0;
  const placed: PlacedRecord[] = [];
  for (const record of records) {
    let partition: number;
    if (record.key === null) partition = roundRobin++ % partitions;
    else {
      let hash = 0;
      for (const char of record.key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
      partition = hash % partitions;
    }
    const offset = next[partition] ?? 0;
    next[partition] = offset + 1;
    placed.push({ ...record, partition, offset });
  }
  return placed;
}

export function generated(options: GeneratorOptions): GeneratedRecord[] {
  return [...generateStream(options)];
}

/** What the tracker does with a batch: parse each record against its own timestamp, keep what has an effect. */
export function toSpendRecords(
  batch: readonly PlacedRecord[],
  limits: Omit<ParseOptions, "referenceTimeMs"> = {},
): {
  records: SpendRecord[];
  progress: PartitionOffset[];
} {
  const records: SpendRecord[] = [];
  const next = new Map<number, number>();
  for (const record of batch) {
    next.set(record.partition, Math.max(next.get(record.partition) ?? 0, record.offset + 1));
    const parsed = parseEvent(record.value, { ...limits, referenceTimeMs: record.timestampMs });
    if (!parsed.ok) continue;
    const spend = spendRecordOf(parsed, {
      partition: record.partition,
      offset: record.offset,
      timestampMs: record.timestampMs,
    });
    if (spend !== null) records.push(spend);
  }
  return { records, progress: [...next].map(([partition, offset]) => ({ partition, offset })) };
}
