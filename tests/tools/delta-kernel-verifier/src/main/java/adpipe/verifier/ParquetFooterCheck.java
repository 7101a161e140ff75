package adpipe.verifier;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.CorruptStatistics;
import org.apache.parquet.VersionParser;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;

/**
 * Reads Parquet footers the way Spark does (parquet-mr's ParquetFileReader, which drops the statistics of binary
 * columns when it cannot trust the writer: PARQUET-251) and reports what it sees.
 *
 * <p>Usage: {@code java -cp delta-kernel-verifier.jar adpipe.verifier.ParquetFooterCheck <file.parquet>...}
 *
 * <p>Stdout: one JSON array, per file {"file", "createdBy", "parsed": {"application","version","build"} or null,
 * "semver": bool, "ignoresBinaryStatistics": bool, "binaryColumns": [{"column","statisticsEmpty","hasNonNull"}]}
 * for the binary (string, decimal as binary) columns of the first row group.
 */
public final class ParquetFooterCheck {
  private ParquetFooterCheck() {}

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    List<Map<String, Object>> out = new ArrayList<>();
    for (String file : args) {
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("file", file);
      try (ParquetFileReader reader =
          ParquetFileReader.open(HadoopInputFile.fromPath(new Path(file), conf))) {
        String createdBy = reader.getFooter().getFileMetaData().getCreatedBy();
        report.put("createdBy", createdBy);
        try {
          VersionParser.ParsedVersion parsed = VersionParser.parse(createdBy);
          Map<String, Object> fields = new LinkedHashMap<>();
          fields.put("application", parsed.application);
          fields.put("version", parsed.version);
          fields.put("build", parsed.appBuildHash);
          report.put("parsed", fields);
          report.put("semver", parsed.hasSemanticVersion());
        } catch (VersionParser.VersionParseException e) {
          report.put("parsed", null);
          report.put("semver", false);
        }
        report.put(
            "ignoresBinaryStatistics",
            CorruptStatistics.shouldIgnoreStatistics(createdBy, PrimitiveTypeName.BINARY));
        List<Map<String, Object>> columns = new ArrayList<>();
        List<BlockMetaData> blocks = reader.getFooter().getBlocks();
        if (!blocks.isEmpty()) {
          for (ColumnChunkMetaData chunk : blocks.get(0).getColumns()) {
            PrimitiveTypeName type = chunk.getPrimitiveType().getPrimitiveTypeName();
            if (type != PrimitiveTypeName.BINARY && type != PrimitiveTypeName.FIXED_LEN_BYTE_ARRAY) continue;
            Statistics<?> stats = chunk.getStatistics();
            Map<String, Object> column = new LinkedHashMap<>();
            column.put("column", chunk.getPath().toDotString());
            column.put("statisticsEmpty", stats == null || stats.isEmpty());
            column.put("hasNonNull", stats != null && stats.hasNonNullValue());
            columns.add(column);
          }
        }
        report.put("binaryColumns", columns);
      }
      out.add(report);
    }
    System.out.println(new ObjectMapper().writeValueAsString(out));
  }
}
