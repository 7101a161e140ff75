import {
  type DataType as ArrowType,
  Binary,
  Bool,
  type Data,
  DateDay,
  Decimal,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Timestamp,
  TimeUnit,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import * as parquet from "parquet-wasm";
import { parquetCreatedBy } from "../build-info.js";
import { LakeError } from "../errors.js";
import type { Column, ColumnType, Row, Value } from "./schema.js";

export type ParquetCompression = "zstd" | "snappy";

export interface ParquetOptions {
  readonly compression: ParquetCompression;
  /** Rows per row group (readers parallelise and skip by row group). */
  readonly rowGroupRows: number;
}

export const DEFAULT_PARQUET_OPTIONS: ParquetOptions = { compression: "zstd", rowGroupRows: 128 * 1024 };

function arrowType(type: ColumnType): ArrowType {
  switch (type.kind) {
    case "string":
      return new Utf8();
    case "long":
      return new Int64();
    case "integer":
      return new Int32();
    case "boolean":
      return new Bool();
    case "binary":
      return new Binary();
    case "date":
      return new DateDay();
    case "timestamp":
      // Arrow Timestamp(µs, "UTC") is written as INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true).
      return new Timestamp(TimeUnit.MICROSECOND, "UTC");
    case "decimal":
      return new Decimal(type.scale, type.precision, 128);
    case "array":
      return new List(new Field("element", arrowType(type.element), type.containsNull));
  }
}

function validity(values: readonly Value[]): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  values.forEach((value, i) => {
    if (value === null) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { bitmap, nulls };
}

/**
 * Arrow data for one column. 64-bit values are built from BigInt64Array directly: arrow's vectorFromArray goes
 * through JS numbers/Dates for timestamps and would lose microseconds.
 */
function columnData(type: ColumnType, values: readonly Value[]): Data {
  const arrow = arrowType(type);
  switch (type.kind) {
    case "string":
    case "boolean":
    case "binary":
      return vectorFromArray(values as (string | boolean | Uint8Array | null)[], arrow).data[0]!;
    case "long":
    case "timestamp": {
      const { bitmap, nulls } = validity(values);
      const data = new BigInt64Array(values.length);
      values.forEach((value, i) => {
        if (value !== null) data[i] = value as bigint;
      });
      return makeData({
        type: arrow as Int64,
        length: values.length,
        nullCount: nulls,
        nullBitmap: bitmap,
        data,
      });
    }
    case "integer":
    case "date": {
      const { bitmap, nulls } = validity(values);
      const data = new Int32Array(values.length);
      values.forEach((value, i) => {
        if (value !== null) data[i] = value as number;
      });
      return makeData({
        type: arrow as Int32,
        length: values.length,
        nullCount: nulls,
        nullBitmap: bitmap,
        data,
      });
    }
    case "decimal": {
      // 128-bit little-endian two's complement, four 32-bit words per value.
      const { bitmap, nulls } = validity(values);
      const data = new Uint32Array(values.length * 4);
      values.forEach((value, i) => {
        if (value === null) return;
        let bits = BigInt.asUintN(128, value as bigint);
        for (let w = 0; w < 4; w++) {
          data[i * 4 + w] = Number(bits & 0xffff_ffffn);
          bits >>= 32n;
        }
      });
      return makeData({
        type: arrow as Decimal,
        length: values.length,
        nullCount: nulls,
        nullBitmap: bitmap,
        data,
      });
    }
    case "array": {
      const { bitmap, nulls } = validity(values);
      const offsets = new Int32Array(values.length + 1);
      const flat: Value[] = [];
      values.forEach((value, i) => {
        if (value !== null) flat.push(...(value as readonly Value[]));
        offsets[i + 1] = flat.length;
      });
      return makeData({
        type: arrow as List,
        length: values.length,
        nullCount: nulls,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        child: columnData(type.element, flat),
      });
    }
  }
}

/** An Arrow table of the given columns (in order) from rows. */
export function rowsToArrow(columns: readonly Column[], rows: readonly Row[]): Table {
  const fields = columns.map((column) => new Field(column.name, arrowType(column.type), column.nullable));
  const children = columns.map((column) =>
    columnData(
      column.type,
      rows.map((row) => row[column.name] ?? null),
    ),
  );
  const struct = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  return new Table([new RecordBatch(new Schema(fields), struct)]);
}

let createdBy: string | undefined;

/** Serialises an Arrow table to Parquet bytes. */
export function writeParquet(table: Table, options: ParquetOptions): Uint8Array {
  createdBy ??= parquetCreatedBy();
  const properties = new parquet.WriterPropertiesBuilder()
    .setCompression(options.compression === "zstd" ? parquet.Compression.ZSTD : parquet.Compression.SNAPPY)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy(createdBy)
    .build();
  try {
    return parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(table, "stream")), properties);
  } catch (error) {
    throw new LakeError("invalid_rows", "Parquet encoding failed", { cause: error });
  }
}

/** The footer's created_by of Parquet bytes (undefined when the writer left it out). */
export async function parquetCreatedByOf(bytes: Uint8Array): Promise<string | undefined> {
  const file = await parquet.ParquetFile.fromFile(new Blob([bytes]));
  try {
    return file.metadata().fileMetadata().createdBy();
  } finally {
    file.free();
  }
}

/** Reads Parquet bytes into an Arrow table (used for checkpoints). */
export function readParquet(bytes: Uint8Array): Table {
  try {
    return tableFromIPC(parquet.readParquet(bytes).intoIPCStream());
  } catch (error) {
    throw new LakeError("log_corrupt", "cannot read a Parquet file", { cause: error });
  }
}
