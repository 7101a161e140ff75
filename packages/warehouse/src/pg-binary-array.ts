/**
 * One-dimensional Postgres arrays in the binary wire format (what `array_send` writes and `array_recv` reads),
 * for the column arrays of the batch statements. pg sends a Buffer parameter in binary format, so Postgres
 * receives each element by length instead of parsing a text literal: on the write path the text literals cost
 * Postgres about 12 µs and Node about 10 µs per record (37 columns), payloads travelling as hex. Binary arrays
 * carry the payload bytes as they are (measured in docs/performance.md).
 *
 * Layout: int32 ndim (1, or 0 when empty), int32 has-null flag, int32 element type OID, then per dimension
 * int32 length and int32 lower bound (1), then per element int32 byte length (-1 = NULL) and the element's
 * binary form: int4/int8 big-endian two's complement, bool one byte, text UTF-8, bytea the bytes.
 */

import { writeUtf8 } from "./pg-copy-binary.js";

export const PG_ELEMENT_TYPES = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int4: 23,
  text: 25,
} as const;
export type PgElementType = keyof typeof PG_ELEMENT_TYPES;

const HEADER_BYTES = 20;
const TWO_32 = 4_294_967_296;

/** Builds one binary array of a fixed element type; append in order, then build() once. */
export class PgBinaryArray {
  private buffer: Buffer;
  private offset = HEADER_BYTES;
  private count = 0;
  private hasNull = false;

  constructor(
    private readonly type: PgElementType,
    expectedBytes = 256,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, expectedBytes + HEADER_BYTES));
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  private appendNull(): void {
    this.reserve(4);
    this.buffer.writeInt32BE(-1, this.offset);
    this.offset += 4;
    this.count += 1;
    this.hasNull = true;
  }

  text(value: string | null | undefined): void {
    if (value === null || value === undefined) {
      this.appendNull();
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.reserve(4 + value.length * 3);
    const written = writeUtf8(this.buffer, value, this.offset + 4);
    this.buffer.writeInt32BE(written, this.offset);
    this.offset += 4 + written;
    this.count += 1;
  }

  bytes(value: Uint8Array | null | undefined): void {
    if (value === null || value === undefined) {
      this.appendNull();
      return;
    }
    this.reserve(4 + value.byteLength);
    this.buffer.writeInt32BE(value.byteLength, this.offset);
    this.buffer.set(value, this.offset + 4);
    this.offset += 4 + value.byteLength;
    this.count += 1;
  }

  /** An integer of the array's type (int4 or int8); throws RangeError when it does not fit. */
  integer(value: number | null | undefined): void {
    if (value === null || value === undefined) {
      this.appendNull();
      return;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    if (this.type === "int4") {
      this.reserve(8);
      this.buffer.writeInt32BE(4, this.offset);
      this.buffer.writeInt32BE(value, this.offset + 4);
      this.offset += 8;
    } else {
      this.reserve(12);
      this.buffer.writeInt32BE(8, this.offset);
      // Two's complement in two words: floor division keeps the sign in the high word.
      this.buffer.writeInt32BE(Math.floor(value / TWO_32), this.offset + 4);
      this.buffer.writeUInt32BE(value >>> 0, this.offset + 8);
      this.offset += 12;
    }
    this.count += 1;
  }

  /** An int8 given as a decimal string or bigint (Kafka offsets). */
  bigint(value: bigint | string | null | undefined): void {
    if (value === null || value === undefined) {
      this.appendNull();
      return;
    }
    this.reserve(12);
    this.buffer.writeInt32BE(8, this.offset);
    this.buffer.writeBigInt64BE(typeof value === "bigint" ? value : BigInt(value), this.offset + 4);
    this.offset += 12;
    this.count += 1;
  }

  boolean(value: boolean | null | undefined): void {
    if (value === null || value === undefined) {
      this.appendNull();
      return;
    }
    this.reserve(5);
    this.buffer.writeInt32BE(1, this.offset);
    this.buffer[this.offset + 4] = value ? 1 : 0;
    this.offset += 5;
    this.count += 1;
  }

  /** The finished array: a Buffer, which pg sends as a binary parameter. */
  build(): Buffer {
    const oid = PG_ELEMENT_TYPES[this.type];
    if (this.count === 0) {
      const empty = Buffer.alloc(12);
      empty.writeInt32BE(oid, 8);
      return empty;
    }
    this.buffer.writeInt32BE(1, 0);
    this.buffer.writeInt32BE(this.hasNull ? 1 : 0, 4);
    this.buffer.writeInt32BE(oid, 8);
    this.buffer.writeInt32BE(this.count, 12);
    this.buffer.writeInt32BE(1, 16);
    return this.buffer.subarray(0, this.offset);
  }
}

/** A whole binary array from values (tests and small arrays). */
export function pgBinaryArray(
  type: PgElementType,
  values: readonly (string | number | bigint | boolean | Uint8Array | null | undefined)[],
): Buffer {
  const array = new PgBinaryArray(type);
  for (const value of values) {
    if (value === null || value === undefined) array.text(null);
    else if (type === "text") array.text(value as string);
    else if (type === "bytea") array.bytes(value as Uint8Array);
    else if (type === "bool") array.boolean(value as boolean);
    else if (typeof value === "bigint" || typeof value === "string") {
      if (type === "int8") array.bigint(value);
      else array.integer(Number(value));
    } else array.integer(value as number);
  }
  return array.build();
}
