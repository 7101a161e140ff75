import type { GeneratedRecord } from "@adpipe/core";
import { crc32c } from "./crc32c.js";

/**
 * Kafka's Produce request, version 3 (the first with record batches, magic 2), encoded in one pass into
 * one buffer: no per-record objects, no intermediate buffers. Kafka 3.x and 4.x accept it.
 * https://kafka.apache.org/protocol#The_Messages_Produce and .../documentation/#recordbatch
 */
export const PRODUCE_API_KEY = 0;
export const PRODUCE_API_VERSION = 3;

export interface PartitionRecords {
  readonly partition: number;
  readonly records: readonly GeneratedRecord[];
}

export interface ProduceRequest {
  readonly correlationId: number;
  readonly clientId: string;
  /** -1 all in-sync replicas, 1 the leader, 0 none (the broker then sends no response). */
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topic: string;
  readonly partitions: readonly PartitionRecords[];
}

const TWO_32 = 2 ** 32;
/** Byte offset of the CRC-covered part within a record batch (attributes onwards). */
const BATCH_CRC_START = 21;
/** Record batch header size: baseOffset 8, length 4, epoch 4, magic 1, crc 4, attributes 2, lastOffsetDelta 4,
 * firstTimestamp 8, maxTimestamp 8, producerId 8, producerEpoch 2, baseSequence 4, record count 4. */
const BATCH_HEADER = 61;

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function varintSize(value: number): number {
  let unsigned = zigzag(value);
  let size = 1;
  while (unsigned >= 128) {
    unsigned = Math.floor(unsigned / 128);
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  let unsigned = zigzag(value);
  while (unsigned >= 128) {
    buffer[at++] = (unsigned % 128) | 0x80;
    unsigned = Math.floor(unsigned / 128);
  }
  buffer[at++] = unsigned;
  return at;
}

function writeInt64(buffer: Buffer, at: number, value: number): number {
  // Safe integers only (timestamps, -1): the high word by division keeps the sign right.
  const high = Math.floor(value / TWO_32);
  buffer.writeInt32BE(high, at);
  buffer.writeUInt32BE(value - high * TWO_32, at + 4);
  return at + 8;
}

const keyCache = new Map<string, Buffer>();

function keyBytes(key: string): Buffer {
  let bytes = keyCache.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(key, "utf8");
    // Keys are advertiser ids: few. Bound the cache anyway.
    if (keyCache.size > 100_000) keyCache.clear();
    keyCache.set(key, bytes);
  }
  return bytes;
}

/** Encodes a Produce v3 request with one record batch per partition, framed (size prefix included). */
export function encodeProduceRequest(request: ProduceRequest): Buffer {
  const clientId = Buffer.from(request.clientId, "utf8");
  const topic = Buffer.from(request.topic, "utf8");
  // Pass 1: sizes.
  const bodySizes: number[][] = [];
  const firstTimestamps: number[] = [];
  const batchSizes: number[] = [];
  let size = 4 + 2 + 2 + 4 + 2 + clientId.length; // frame size, api key, version, correlation id, client id
  size += 2 + 2 + 4 + 4 + 2 + topic.length + 4; // transactional id, acks, timeout, topic count, topic, partition count
  for (const { records } of request.partitions) {
    let first = Number.POSITIVE_INFINITY;
    for (const record of records) first = Math.min(first, Math.floor(record.timestampMs));
    firstTimestamps.push(first);
    const sizes: number[] = [];
    let batch = BATCH_HEADER;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as GeneratedRecord;
      const key = record.key === null ? null : keyBytes(record.key);
      const body =
        1 +
        varintSize(Math.floor(record.timestampMs) - first) +
        varintSize(i) +
        (key === null ? varintSize(-1) : varintSize(key.length) + key.length) +
        varintSize(record.value.byteLength) +
        record.value.byteLength +
        varintSize(0);
      sizes.push(body);
      batch += varintSize(body) + body;
    }
    bodySizes.push(sizes);
    batchSizes.push(batch);
    size += 4 + 4 + batch; // partition, record set size, batch
  }

  // Pass 2: bytes.
  const buffer = Buffer.allocUnsafe(size);
  let at = 0;
  at = buffer.writeInt32BE(size - 4, at);
  at = buffer.writeInt16BE(PRODUCE_API_KEY, at);
  at = buffer.writeInt16BE(PRODUCE_API_VERSION, at);
  at = buffer.writeInt32BE(request.correlationId, at);
  at = buffer.writeInt16BE(clientId.length, at);
  at += clientId.copy(buffer, at);
  at = buffer.writeInt16BE(-1, at); // transactional id: null
  at = buffer.writeInt16BE(request.acks, at);
  at = buffer.writeInt32BE(request.timeoutMs, at);
  at = buffer.writeInt32BE(1, at);
  at = buffer.writeInt16BE(topic.length, at);
  at += topic.copy(buffer, at);
  at = buffer.writeInt32BE(request.partitions.length, at);
  request.partitions.forEach(({ partition, records }, p) => {
    const first = firstTimestamps[p] as number;
    const sizes = bodySizes[p] as number[];
    const batchSize = batchSizes[p] as number;
    at = buffer.writeInt32BE(partition, at);
    at = buffer.writeInt32BE(batchSize, at);
    const batchStart = at;
    let max = first;
    for (const record of records) max = Math.max(max, Math.floor(record.timestampMs));
    at = writeInt64(buffer, at, 0); // base offset
    at = buffer.writeInt32BE(batchSize - 12, at); // batch length: after base offset and this field
    at = buffer.writeInt32BE(-1, at); // partition leader epoch
    at = buffer.writeInt8(2, at); // magic
    const crcAt = at;
    at += 4;
    at = buffer.writeInt16BE(0, at); // attributes: no compression, CreateTime, not transactional
    at = buffer.writeInt32BE(records.length - 1, at); // last offset delta
    at = writeInt64(buffer, at, first);
    at = writeInt64(buffer, at, max);
    at = writeInt64(buffer, at, -1); // producer id
    at = buffer.writeInt16BE(-1, at); // producer epoch
    at = buffer.writeInt32BE(-1, at); // base sequence
    at = buffer.writeInt32BE(records.length, at);
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as GeneratedRecord;
      at = writeVarint(buffer, at, sizes[i] as number);
      buffer[at++] = 0; // record attributes
      at = writeVarint(buffer, at, Math.floor(record.timestampMs) - first);
      at = writeVarint(buffer, at, i);
      if (record.key === null) {
        at = writeVarint(buffer, at, -1);
      } else {
        const key = keyBytes(record.key);
        at = writeVarint(buffer, at, key.length);
        at += key.copy(buffer, at);
      }
      at = writeVarint(buffer, at, record.value.byteLength);
      buffer.set(record.value, at);
      at += record.value.byteLength;
      at = writeVarint(buffer, at, 0); // headers
    }
    buffer.writeUInt32BE(crc32c(buffer, batchStart + BATCH_CRC_START, at), crcAt);
  });
  if (at !== size) throw new Error(`produce request encoding error: wrote ${at} of ${size} bytes`);
  return buffer;
}

export interface PartitionResult {
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: bigint;
}

/** Parses a Produce v3 response body (after the size and correlation id). */
export function decodeProduceResponse(body: Buffer): PartitionResult[] {
  let at = 0;
  const results: PartitionResult[] = [];
  const topics = body.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    const nameLength = body.readInt16BE(at);
    at += 2 + Math.max(0, nameLength);
    const partitions = body.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      const partition = body.readInt32BE(at);
      const errorCode = body.readInt16BE(at + 4);
      const baseOffset = body.readBigInt64BE(at + 6);
      at += 4 + 2 + 8 + 8; // partition, error code, base offset, log append time
      results.push({ partition, errorCode, baseOffset });
    }
  }
  return results;
}
