/**
 * Rows in Postgres' binary COPY format (`COPY … FROM STDIN (FORMAT binary)`), for the per-record tables of the
 * write path. Postgres reads each field with the type's binary receive function (the same ones that read the
 * elements of the binary arrays in pg-binary-array.ts), so values arrive exactly as the batch statement's
 * expressions would have computed them: money as NUMERIC from integer micros, times as timestamptz from epoch ms.
 *
 * Layout: the 11-byte signature, int32 flags (0), int32 header extension length (0); per row int16 field count,
 * then per field int32 byte length (-1 = NULL) and its binary form; int16 -1 ends the data.
 */

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const TWO_32 = 4_294_967_296;
/** 2000-01-01T00:00:00Z in epoch microseconds: Postgres timestamps count microseconds from there. */
const POSTGRES_EPOCH_MICROS = 946_684_800_000_000;
const POSTGRES_EPOCH_MICROS_BIG = 946_684_800_000_000n;
const NUMERIC_NEG = 0x4000;
/** Scratch space of numericMicros (one per process: no allocation per value). */
const NUMERIC_GROUPS = new Uint16Array(6);
/** Scale of every money column (NUMERIC(20,6)): values are integer micros. */
const MICROS_SCALE = 6;
/** OID of text, the element type of text[] fields. */
const TEXT_OID = 25;

/** Strings up to this many UTF-16 units are tried byte by byte before Buffer#write. */
const SHORT_TEXT = 64;

/**
 * Writes `value` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit reserved) and returns the bytes written. A
 * short ASCII string (ids, codes, topic names: most text of the write path) is copied unit by unit: Buffer#write
 * costs more per call in its argument handling than such a string takes to copy (the largest self time of the
 * ingestor's profile after GC, docs/performance.md). Anything else goes through Buffer#write.
 */
export function writeUtf8(buffer: Buffer, value: string, at: number): number {
  const length = value.length;
  if (length <= SHORT_TEXT) {
    let i = 0;
    for (; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) break;
      buffer[at + i] = unit;
    }
    if (i === length) return length;
  }
  return buffer.write(value, at, "utf8");
}

/** Builds one COPY data stream; append rows in order (`row(n)` then n fields), then build() once. */
export class PgCopyBinary {
  private buffer: Buffer;
  private offset: number;
  private rows = 0;

  constructor(expectedBytes = 4096) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, expectedBytes + SIGNATURE.length + 10));
    SIGNATURE.copy(this.buffer, 0);
    this.buffer.writeInt32BE(0, SIGNATURE.length);
    this.buffer.writeInt32BE(0, SIGNATURE.length + 4);
    this.offset = SIGNATURE.length + 8;
  }

  /** Rows appended so far. */
  get rowCount(): number {
    return this.rows;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  /** Starts a row of `fields` fields (the COPY statement's column count). */
  row(fields: number): void {
    this.reserve(2);
    this.buffer.writeInt16BE(fields, this.offset);
    this.offset += 2;
    this.rows += 1;
  }

  null(): void {
    this.reserve(4);
    this.buffer.writeInt32BE(-1, this.offset);
    this.offset += 4;
  }

  text(value: string | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.reserve(4 + value.length * 3);
    const written = writeUtf8(this.buffer, value, this.offset + 4);
    this.buffer.writeInt32BE(written, this.offset);
    this.offset += 4 + written;
  }

  bytes(value: Uint8Array | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    this.reserve(4 + value.byteLength);
    this.buffer.writeInt32BE(value.byteLength, this.offset);
    this.buffer.set(value, this.offset + 4);
    this.offset += 4 + value.byteLength;
  }

  int4(value: number | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    if (!Number.isInteger(value) || value < -2_147_483_648 || value > 2_147_483_647)
      throw new RangeError(`not an int4: ${value}`);
    this.reserve(8);
    this.buffer.writeInt32BE(4, this.offset);
    this.buffer.writeInt32BE(value, this.offset + 4);
    this.offset += 8;
  }

  /** An int8 from a safe integer, a bigint or a decimal string (Kafka offsets). */
  int8(value: number | bigint | string | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    this.reserve(12);
    this.buffer.writeInt32BE(8, this.offset);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
      // Two's complement in two words: floor division keeps the sign in the high word.
      this.buffer.writeInt32BE(Math.floor(value / TWO_32), this.offset + 4);
      this.buffer.writeUInt32BE(value >>> 0, this.offset + 8);
    } else {
      this.buffer.writeBigInt64BE(typeof value === "bigint" ? value : BigInt(value), this.offset + 4);
    }
    this.offset += 12;
  }

  bool(value: boolean | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    this.reserve(5);
    this.buffer.writeInt32BE(1, this.offset);
    this.buffer[this.offset + 4] = value ? 1 : 0;
    this.offset += 5;
  }

  /**
   * A one-dimensional text[] (array_recv's binary form, as pg-binary-array.ts writes it): ndim 0 when empty,
   * else int32 ndim 1, has-null 0, element OID 25, length, lower bound 1, then each element by length.
   */
  textArray(values: readonly string[] | null | undefined): void {
    if (values === null || values === undefined) {
      this.null();
      return;
    }
    if (values.length === 0) {
      this.reserve(16);
      this.buffer.writeInt32BE(12, this.offset);
      this.buffer.writeInt32BE(0, this.offset + 4);
      this.buffer.writeInt32BE(0, this.offset + 8);
      this.buffer.writeInt32BE(TEXT_OID, this.offset + 12);
      this.offset += 16;
      return;
    }
    const start = this.offset;
    this.reserve(24);
    this.buffer.writeInt32BE(1, start + 4);
    this.buffer.writeInt32BE(0, start + 8);
    this.buffer.writeInt32BE(TEXT_OID, start + 12);
    this.buffer.writeInt32BE(values.length, start + 16);
    this.buffer.writeInt32BE(1, start + 20);
    this.offset = start + 24;
    for (const value of values) {
      this.reserve(4 + value.length * 3);
      const written = writeUtf8(this.buffer, value, this.offset + 4);
      this.buffer.writeInt32BE(written, this.offset);
      this.offset += 4 + written;
    }
    // The field's length, known now (reserve() may have moved the buffer, not the offsets).
    this.buffer.writeInt32BE(this.offset - start - 4, start);
  }

  /**
   * A timestamptz from epoch milliseconds, exactly what `'epoch' + ms * interval '1 millisecond'` gives: int8
   * microseconds since 2000-01-01 UTC. Postgres multiplies the interval in float8, so beyond 2^53 µs (after the
   * year 2255) its product is rounded; the same IEEE product here keeps both paths identical there too.
   */
  timestampMs(ms: number | null | undefined): void {
    if (ms === null || ms === undefined) {
      this.null();
      return;
    }
    if (!Number.isSafeInteger(ms)) throw new RangeError(`not a whole epoch millisecond: ${ms}`);
    const epochMicros = ms * 1_000;
    const micros = epochMicros - POSTGRES_EPOCH_MICROS;
    this.reserve(12);
    this.buffer.writeInt32BE(8, this.offset);
    if (Number.isSafeInteger(micros)) {
      // Two's complement in two words: floor division keeps the sign in the high word.
      this.buffer.writeInt32BE(Math.floor(micros / TWO_32), this.offset + 4);
      this.buffer.writeUInt32BE(micros >>> 0, this.offset + 8);
    } else {
      // epochMicros is a whole number here (beyond 2^53 every double is): exact as a bigint.
      this.buffer.writeBigInt64BE(BigInt(epochMicros) - POSTGRES_EPOCH_MICROS_BIG, this.offset + 4);
    }
    this.offset += 12;
  }

  /**
   * A NUMERIC of scale 6 from integer micros (what `micros * 0.000001` gives): base-10000 digit groups, weight
   * of the first group, sign, display scale 6. Zero groups at either end are left out, as Postgres stores them.
   */
  numericMicros(micros: number | null | undefined): void {
    if (micros === null || micros === undefined) {
      this.null();
      return;
    }
    if (!Number.isSafeInteger(micros)) throw new RangeError(`not a whole number of micros: ${micros}`);
    const abs = Math.abs(micros);
    const whole = Math.floor(abs / 1_000_000);
    const fraction = abs - whole * 1_000_000;
    // Groups from the most significant: up to four of the whole part (safe integers / 10^6 < 10^10), two of
    // the fraction (its 6 digits padded to 8). Group k has weight (wholeGroups - 1 - k).
    const groups = NUMERIC_GROUPS;
    groups[0] = Math.floor(whole / 1_000_000_000_000) % 10_000;
    groups[1] = Math.floor(whole / 100_000_000) % 10_000;
    groups[2] = Math.floor(whole / 10_000) % 10_000;
    groups[3] = whole % 10_000;
    groups[4] = Math.floor(fraction / 100);
    groups[5] = (fraction % 100) * 100;
    let first = 0;
    while (first < groups.length && groups[first] === 0) first += 1;
    let end = groups.length;
    while (end > first && groups[end - 1] === 0) end -= 1;
    const digits = end - first;
    this.reserve(4 + 8 + digits * 2);
    this.buffer.writeInt32BE(8 + digits * 2, this.offset);
    this.buffer.writeInt16BE(digits, this.offset + 4);
    this.buffer.writeInt16BE(digits === 0 ? 0 : 3 - first, this.offset + 6);
    this.buffer.writeUInt16BE(micros < 0 ? NUMERIC_NEG : 0, this.offset + 8);
    this.buffer.writeUInt16BE(MICROS_SCALE, this.offset + 10);
    let at = this.offset + 12;
    for (let g = first; g < end; g++) {
      this.buffer.writeUInt16BE(groups[g]!, at);
      at += 2;
    }
    this.offset = at;
  }

  /** The finished stream, trailer included. */
  build(): Buffer {
    this.reserve(2);
    this.buffer.writeInt16BE(-1, this.offset);
    this.offset += 2;
    return this.buffer.subarray(0, this.offset);
  }
}
