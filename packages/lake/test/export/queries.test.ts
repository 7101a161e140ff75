import { describe, expect, it } from "vitest";
import { lakeQueries, lakeQuery, QUERY_NAMES } from "../../src/export/queries.js";

describe("the export's named queries", () => {
  it("every file loads with a params header matching its placeholders, and none is left out", () => {
    const loaded = lakeQueries.checkAll();
    expect(loaded.map((query) => query.name)).toEqual([...QUERY_NAMES]);
    expect(Object.fromEntries(loaded.map((query) => [query.name, query.paramCount]))).toEqual({
      export_streams: 0,
      export_bronze_page: 5,
      export_silver_page: 5,
      export_gold_fingerprints: 0,
      export_gold_page: 4,
      lake_offsets_read: 2,
      lake_offsets_record: 7,
      lake_table_record: 7,
    });
  });

  it("prepares under adpipe_lake_<name> and rejects a wrong number of values", () => {
    expect(lakeQuery("lake_offsets_read", ["lake", "bronze"])).toMatchObject({
      name: "adpipe_lake_lake_offsets_read",
      values: ["lake", "bronze"],
    });
    expect(() => lakeQuery("lake_offsets_read", ["lake"])).toThrow(
      expect.objectContaining({ name: "LakeError", code: "ADP_LAKE_QUERY_INVALID" }),
    );
  });
});
