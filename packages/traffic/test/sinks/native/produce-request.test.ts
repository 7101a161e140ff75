import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { describe, expect, test } from "vitest";
import { crc32c } from "../../../src/sinks/native/crc32c.js";
import { decodeProduceResponse, encodeProduceRequest } from "../../../src/sinks/native/produce-request.js";

/** An independent reader of the encoded request: enough of the Kafka protocol to get the records back. */
class Reader {
  at = 0;
  constructor(readonly buffer: Buffer) {}
  int8 = () => this.buffer.readInt8(this.at++);
  int16 = () => {
    const v = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return v;
  };
  int32 = () => {
    const v = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return v;
  };
  uint32 = () => {
    const v = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    return v;
  };
  int64 = () => {
    const v = this.buffer.readBigInt64BE(this.at);
    this.at += 8;
    return Number(v);
  };
  string = () => {
    const length = this.int16();
    const text = this.buffer.toString("utf8", this.at, this.at + length);
    this.at += length;
    return text;
  };
  varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buffer[this.at++] as number;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  };
  bytes = (length: number) => {
    const out = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  };
}

function decodeRequest(frame: Buffer) {
  const r = new Reader(frame);
  const size = r.int32();
  const header = { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32(), clientId: r.string() };
  const transactionalId = r.int16();
  const acks = r.int16();
  const timeoutMs = r.int32();
  expect(r.int32()).toBe(1);
  const topic = r.string();
  const partitions: {
    partition: number;
    crcOk: boolean;
    records: { key: string | null; value: string; timestampMs: number }[];
  }[] = [];
  const count = r.int32();
  for (let p = 0; p < count; p++) {
    const partition = r.int32();
    const batchSize = r.int32();
    const batchStart = r.at;
    expect(r.int64()).toBe(0);
    expect(r.int32()).toBe(batchSize - 12);
    expect(r.int32()).toBe(-1);
    expect(r.int8()).toBe(2);
    const crc = r.uint32();
    const crcOk = crc === crc32c(frame, batchStart + 21, batchStart + batchSize);
    expect(r.int16()).toBe(0);
    const lastOffsetDelta = r.int32();
    const first = r.int64();
    const max = r.int64();
    expect([r.int64(), r.int16(), r.int32()]).toEqual([-1, -1, -1]);
    const n = r.int32();
    expect(lastOffsetDelta).toBe(n - 1);
    const records = [];
    let maxSeen = first;
    for (let i = 0; i < n; i++) {
      const length = r.varint();
      const start = r.at;
      expect(r.int8()).toBe(0);
      const timestampMs = first + r.varint();
      maxSeen = Math.max(maxSeen, timestampMs);
      expect(r.varint()).toBe(i);
      const keyLength = r.varint();
      const key = keyLength < 0 ? null : r.bytes(keyLength).toString("utf8");
      const value = r.bytes(r.varint()).toString("latin1");
      expect(r.varint()).toBe(0);
      expect(r.at - start).toBe(length);
      records.push({ key, value, timestampMs });
    }
    expect(max).toBe(maxSeen);
    expect(r.at - batchStart).toBe(batchSize);
    partitions.push({ partition, crcOk, records });
  }
  expect(r.at).toBe(frame.length);
  expect(size).toBe(frame.length - 4);
  return { header, transactionalId, acks, timeoutMs, topic, partitions };
}

describe("encodeProduceRequest", () => {
  test("encodes Produce v3 with one CRC-checked record batch per partition that reads back exactly", () => {
    const records = [
      ...generateStream({
        seed: 8,
        events: 600,
        advertisers: 9,
        runId: "enc",
        startMs: 1_800_000_000_123,
        intervalMs: 3.7,
        shares: { malformed: 0.3 },
      }),
    ];
    const byPartition = [0, 1, 2].map((partition) => ({
      partition,
      records: records.filter((_, i) => i % 3 === partition),
    }));
    const frame = encodeProduceRequest({
      correlationId: 41,
      clientId: "sim",
      acks: -1,
      timeoutMs: 30_000,
      topic: "clicks",
      partitions: byPartition,
    });
    const decoded = decodeRequest(frame);
    expect(decoded.header).toEqual({ apiKey: 0, apiVersion: 3, correlationId: 41, clientId: "sim" });
    expect([decoded.transactionalId, decoded.acks, decoded.timeoutMs, decoded.topic]).toEqual([
      -1,
      -1,
      30_000,
      "clicks",
    ]);
    for (const [index, partition] of decoded.partitions.entries()) {
      expect(partition.partition).toBe(index);
      expect(partition.crcOk).toBe(true);
      const want = (byPartition[index]?.records ?? []).map((record: GeneratedRecord) => ({
        key: record.key,
        value: Buffer.from(record.value).toString("latin1"),
        timestampMs: Math.floor(record.timestampMs),
      }));
      expect(partition.records).toEqual(want);
    }
    // Null keys, empty values and payloads above 16 KiB (multi-byte varints) are all in the stream.
    const all = decoded.partitions.flatMap((partition) => partition.records);
    expect(all.some((record) => record.key === null)).toBe(true);
    expect(all.some((record) => record.value.length === 0)).toBe(true);
    expect(all.some((record) => record.value.length > 16_384)).toBe(true);
  });

  test("a changed byte breaks the batch CRC", () => {
    const records = [...generateStream({ seed: 1, events: 5, runId: "crc" })];
    const frame = encodeProduceRequest({
      correlationId: 1,
      clientId: "c",
      acks: 1,
      timeoutMs: 1_000,
      topic: "t",
      partitions: [{ partition: 0, records }],
    });
    frame[frame.length - 3] = (frame[frame.length - 3] ?? 0) ^ 0xff;
    expect(decodeRequest(frame).partitions[0]?.crcOk).toBe(false);
  });
});

describe("decodeProduceResponse", () => {
  test("reads partition error codes and base offsets", () => {
    const topic = Buffer.from("clicks");
    const body = Buffer.alloc(4 + 2 + topic.length + 4 + 2 * 22 + 4);
    let at = body.writeInt32BE(1, 0);
    at = body.writeInt16BE(topic.length, at);
    at += topic.copy(body, at);
    at = body.writeInt32BE(2, at);
    for (const [partition, error, offset] of [
      [0, 0, 100n],
      [1, 6, -1n],
    ] as const) {
      at = body.writeInt32BE(partition, at);
      at = body.writeInt16BE(error, at);
      at = body.writeBigInt64BE(offset, at);
      at = body.writeBigInt64BE(-1n, at);
    }
    body.writeInt32BE(0, at);
    expect(decodeProduceResponse(body)).toEqual([
      { partition: 0, errorCode: 0, baseOffset: 100n },
      { partition: 1, errorCode: 6, baseOffset: -1n },
    ]);
  });
});
