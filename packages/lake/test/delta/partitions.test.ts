import { describe, expect, it } from "vitest";
import {
  partitionDirectory,
  pathToUri,
  serializePartitionValue,
  uriToPath,
} from "../../src/delta/partitions.js";
import { types } from "../../src/delta/schema.js";

describe("partition values (PROTOCOL.md Partition Value Serialization)", () => {
  it("serialises each type", () => {
    const column = (type: ReturnType<typeof types.string>) => ({ name: "p", type, nullable: true });
    expect(serializePartitionValue(column(types.timestamp()), 1_764_028_800_000_000n)).toBe(
      "2025-11-25T00:00:00.000000Z",
    );
    expect(serializePartitionValue(column(types.date()), 20_417)).toBe("2025-11-25");
    expect(serializePartitionValue(column(types.integer()), 2026)).toBe("2026");
    expect(serializePartitionValue(column(types.decimal(20, 6)), -5n)).toBe("-0.000005");
    expect(serializePartitionValue(column(types.integer()), null)).toBeNull();
    expect(() => serializePartitionValue(column(types.string()), "")).toThrow(/empty string/);
  });

  it("escapes directory names like Hive and encodes log paths as URIs", () => {
    const dir = partitionDirectory(["spend_day", "y"], { spend_day: "2025-11-25T00:00:00.000000Z", y: null });
    expect(dir).toBe("spend_day=2025-11-25T00%3A00%3A00.000000Z/y=__HIVE_DEFAULT_PARTITION__");
    const uri = pathToUri(`${dir}/part-0.parquet`);
    expect(uri).toBe(
      "spend_day=2025-11-25T00%253A00%253A00.000000Z/y=__HIVE_DEFAULT_PARTITION__/part-0.parquet",
    );
    expect(uriToPath(uri)).toBe(`${dir}/part-0.parquet`);
    expect(() => uriToPath("abfss://c@a.dfs.core.windows.net/x.parquet")).toThrow(/absolute/);
  });
});
