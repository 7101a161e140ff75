package adpipe.verifier;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.delta.kernel.Scan;
import io.delta.kernel.Snapshot;
import io.delta.kernel.Table;
import io.delta.kernel.data.ArrayValue;
import io.delta.kernel.data.ColumnVector;
import io.delta.kernel.data.ColumnarBatch;
import io.delta.kernel.data.FilteredColumnarBatch;
import io.delta.kernel.data.MapValue;
import io.delta.kernel.data.Row;
import io.delta.kernel.defaults.engine.DefaultEngine;
import io.delta.kernel.engine.Engine;
import io.delta.kernel.internal.InternalScanFileUtils;
import io.delta.kernel.internal.data.ScanStateRow;
import io.delta.kernel.types.ArrayType;
import io.delta.kernel.types.BinaryType;
import io.delta.kernel.types.BooleanType;
import io.delta.kernel.types.ByteType;
import io.delta.kernel.types.DataType;
import io.delta.kernel.types.DateType;
import io.delta.kernel.types.DecimalType;
import io.delta.kernel.types.DoubleType;
import io.delta.kernel.types.FloatType;
import io.delta.kernel.types.IntegerType;
import io.delta.kernel.types.LongType;
import io.delta.kernel.types.MapType;
import io.delta.kernel.types.ShortType;
import io.delta.kernel.types.StringType;
import io.delta.kernel.types.StructField;
import io.delta.kernel.types.StructType;
import io.delta.kernel.types.TimestampNTZType;
import io.delta.kernel.types.TimestampType;
import io.delta.kernel.utils.CloseableIterator;
import io.delta.kernel.utils.FileStatus;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;

/**
 * Opens a Delta table with Delta Kernel (an implementation nobody in this project wrote) and reports what a reader
 * sees: version, schema, partition columns, number of data files and rows, and optionally every row as a JSON line.
 *
 * <p>Usage: {@code java -jar delta-kernel-verifier.jar <table path or file: URI> [--rows <file>]}
 *
 * <p>Stdout: one JSON object {"version", "schema": [{"name","type","nullable"}], "partitionColumns", "files",
 * "rowCount"}. Rows file: one JSON object per row, keyed by column name. Encodings chosen to be exact: long as a
 * decimal string, decimal as a plain string, timestamp as ISO-8601 UTC with six fraction digits, date as
 * YYYY-MM-DD, binary as base64. Exit code 1 with the error on stderr when the table cannot be read.
 */
public final class DeltaKernelVerifier {
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  private DeltaKernelVerifier() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: delta-kernel-verifier <table path> [--rows <file>]");
      System.exit(2);
    }
    String tablePath = args[0];
    String rowsFile = null;
    for (int i = 1; i < args.length; i++) {
      if ("--rows".equals(args[i]) && i + 1 < args.length) rowsFile = args[++i];
    }
    try {
      run(tablePath, rowsFile);
    } catch (Exception e) {
      System.err.println("delta-kernel-verifier: " + e);
      e.printStackTrace(System.err);
      System.exit(1);
    }
  }

  private static void run(String tablePath, String rowsFile) throws IOException {
    Engine engine = DefaultEngine.create(new Configuration());
    Table table = Table.forPath(engine, tablePath);
    Snapshot snapshot = table.getLatestSnapshot(engine);
    StructType schema = snapshot.getSchema();
    Scan scan = snapshot.getScanBuilder().build();
    Row scanState = scan.getScanState(engine);
    StructType physicalReadSchema = ScanStateRow.getPhysicalDataReadSchema(engine, scanState);

    JsonFactory factory = new JsonFactory();
    long rowCount = 0;
    long files = 0;
    OutputStream rowsOut = rowsFile == null ? OutputStream.nullOutputStream() : new FileOutputStream(rowsFile);
    try (JsonGenerator rows = factory.createGenerator(rowsOut, JsonEncoding.UTF8);
        CloseableIterator<FilteredColumnarBatch> scanFiles = scan.getScanFiles(engine)) {
      rows.setRootValueSeparator(null);
      while (scanFiles.hasNext()) {
        FilteredColumnarBatch scanFileBatch = scanFiles.next();
        try (CloseableIterator<Row> scanFileRows = scanFileBatch.getRows()) {
          while (scanFileRows.hasNext()) {
            Row scanFileRow = scanFileRows.next();
            files++;
            FileStatus fileStatus = InternalScanFileUtils.getAddFileStatus(scanFileRow);
            CloseableIterator<ColumnarBatch> physicalData =
                engine
                    .getParquetHandler()
                    .readParquetFiles(
                        singleton(fileStatus), physicalReadSchema, Optional.empty());
            try (CloseableIterator<FilteredColumnarBatch> data =
                Scan.transformPhysicalData(engine, scanState, scanFileRow, physicalData)) {
              while (data.hasNext()) {
                FilteredColumnarBatch batch = data.next();
                ColumnarBatch columns = batch.getData();
                Optional<ColumnVector> selection = batch.getSelectionVector();
                for (int r = 0; r < columns.getSize(); r++) {
                  if (selection.isPresent()
                      && (selection.get().isNullAt(r) || !selection.get().getBoolean(r))) continue;
                  rowCount++;
                  if (rowsFile != null) {
                    writeRow(rows, columns, r);
                    rows.writeRaw('\n');
                  }
                }
              }
            }
          }
        }
      }
    }

    try (JsonGenerator out = factory.createGenerator(System.out, JsonEncoding.UTF8)) {
      out.writeStartObject();
      out.writeNumberField("version", snapshot.getVersion());
      out.writeArrayFieldStart("schema");
      for (StructField field : schema.fields()) {
        out.writeStartObject();
        out.writeStringField("name", field.getName());
        out.writeStringField("type", typeName(field.getDataType()));
        out.writeBooleanField("nullable", field.isNullable());
        out.writeEndObject();
      }
      out.writeEndArray();
      out.writeArrayFieldStart("partitionColumns");
      for (String column : snapshot.getPartitionColumnNames()) out.writeString(column);
      out.writeEndArray();
      out.writeNumberField("files", files);
      out.writeNumberField("rowCount", rowCount);
      out.writeEndObject();
    }
    System.out.println();
  }

  private static CloseableIterator<FileStatus> singleton(FileStatus status) {
    List<FileStatus> list = Collections.singletonList(status);
    java.util.Iterator<FileStatus> it = list.iterator();
    return new CloseableIterator<>() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public FileStatus next() {
        return it.next();
      }

      @Override
      public void close() {}
    };
  }

  /** Spark-style type names: decimal(20,6), array<string>, map<string,string>, struct<...>. */
  private static String typeName(DataType type) {
    if (type instanceof ArrayType) {
      return "array<" + typeName(((ArrayType) type).getElementType()) + ">";
    }
    if (type instanceof MapType) {
      MapType map = (MapType) type;
      return "map<" + typeName(map.getKeyType()) + "," + typeName(map.getValueType()) + ">";
    }
    if (type instanceof StructType) {
      StringBuilder out = new StringBuilder("struct<");
      List<StructField> fields = ((StructType) type).fields();
      for (int i = 0; i < fields.size(); i++) {
        if (i > 0) out.append(',');
        out.append(fields.get(i).getName()).append(':').append(typeName(fields.get(i).getDataType()));
      }
      return out.append('>').toString();
    }
    if (type instanceof DecimalType) {
      DecimalType decimal = (DecimalType) type;
      return "decimal(" + decimal.getPrecision() + "," + decimal.getScale() + ")";
    }
    if (type instanceof TimestampNTZType) return "timestamp_ntz";
    if (type instanceof TimestampType) return "timestamp";
    if (type instanceof StringType) return "string";
    if (type instanceof LongType) return "long";
    if (type instanceof IntegerType) return "integer";
    if (type instanceof ShortType) return "short";
    if (type instanceof ByteType) return "byte";
    if (type instanceof BooleanType) return "boolean";
    if (type instanceof DoubleType) return "double";
    if (type instanceof FloatType) return "float";
    if (type instanceof DateType) return "date";
    if (type instanceof BinaryType) return "binary";
    return type.toString();
  }

  private static void writeRow(JsonGenerator out, ColumnarBatch batch, int rowId) throws IOException {
    StructType schema = batch.getSchema();
    out.writeStartObject();
    for (int c = 0; c < schema.length(); c++) {
      StructField field = schema.at(c);
      out.writeFieldName(field.getName());
      writeValue(out, batch.getColumnVector(c), rowId, field.getDataType());
    }
    out.writeEndObject();
  }

  private static void writeValue(JsonGenerator out, ColumnVector vector, int rowId, DataType type)
      throws IOException {
    if (vector.isNullAt(rowId)) {
      out.writeNull();
    } else if (type instanceof StringType) {
      out.writeString(vector.getString(rowId));
    } else if (type instanceof LongType) {
      out.writeString(Long.toString(vector.getLong(rowId)));
    } else if (type instanceof IntegerType) {
      out.writeNumber(vector.getInt(rowId));
    } else if (type instanceof ShortType) {
      out.writeNumber(vector.getShort(rowId));
    } else if (type instanceof ByteType) {
      out.writeNumber(vector.getByte(rowId));
    } else if (type instanceof BooleanType) {
      out.writeBoolean(vector.getBoolean(rowId));
    } else if (type instanceof DoubleType) {
      out.writeNumber(vector.getDouble(rowId));
    } else if (type instanceof FloatType) {
      out.writeNumber(vector.getFloat(rowId));
    } else if (type instanceof DecimalType) {
      out.writeString(vector.getDecimal(rowId).toPlainString());
    } else if (type instanceof TimestampType || type instanceof TimestampNTZType) {
      long micros = vector.getLong(rowId);
      Instant instant =
          Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
      out.writeString(MICROS.format(instant));
    } else if (type instanceof DateType) {
      out.writeString(LocalDate.ofEpochDay(vector.getInt(rowId)).toString());
    } else if (type instanceof BinaryType) {
      out.writeString(Base64.getEncoder().encodeToString(vector.getBinary(rowId)));
    } else if (type instanceof ArrayType) {
      ArrayValue array = vector.getArray(rowId);
      ColumnVector elements = array.getElements();
      DataType elementType = ((ArrayType) type).getElementType();
      out.writeStartArray();
      for (int i = 0; i < array.getSize(); i++) writeValue(out, elements, i, elementType);
      out.writeEndArray();
    } else if (type instanceof MapType) {
      MapValue map = vector.getMap(rowId);
      ColumnVector keys = map.getKeys();
      ColumnVector values = map.getValues();
      out.writeStartObject();
      for (int i = 0; i < map.getSize(); i++) {
        out.writeFieldName(keys.getString(i));
        writeValue(out, values, i, ((MapType) type).getValueType());
      }
      out.writeEndObject();
    } else if (type instanceof StructType) {
      StructType struct = (StructType) type;
      out.writeStartObject();
      for (int i = 0; i < struct.length(); i++) {
        out.writeFieldName(struct.at(i).getName());
        writeValue(out, vector.getChild(i), rowId, struct.at(i).getDataType());
      }
      out.writeEndObject();
    } else {
      throw new IllegalStateException("unsupported type " + type);
    }
  }
}
