import type { GeneratedRecord } from "@adpipe/core";

/** Where simulated records go: a Kafka topic (Kafka or Event Hubs' Kafka endpoint) or an event hub (SDK). */
export interface RecordSink {
  /** Safe to print: transport, broker or namespace host, topic. Never a credential. */
  readonly description: string;
  readonly topic: string;
  connect(): Promise<void>;
  /** Sends the records as one request (the caller keeps it under the size limit), in order. */
  send(records: readonly GeneratedRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Approximate wire size of a record: value, key and per-record overhead of a Kafka record batch. */
export function recordBytes(record: GeneratedRecord): number {
  return record.value.byteLength + (record.key?.length ?? 0) + 24;
}

/** Splits records into consecutive groups of at most `maxBytes` each (a larger single record goes alone). */
export function chunkByBytes(records: readonly GeneratedRecord[], maxBytes: number): GeneratedRecord[][] {
  const chunks: GeneratedRecord[][] = [];
  let current: GeneratedRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
