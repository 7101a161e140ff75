import { describe, expect, it } from "vitest";
import { CLI_QUERY_NAMES, cliQueries } from "../src/queries.js";

describe("the CLI's named queries", () => {
  it("every file loads with a params header matching its placeholders, and none is left out", () => {
    const loaded = cliQueries.checkAll();
    expect(loaded.map((query) => [query.name, query.paramCount])).toEqual([
      ["status_layer_counts", 0],
      ["status_layer_estimates", 0],
      ["status_stored_offsets", 2],
    ]);
    expect(loaded.map((query) => query.name)).toEqual([...CLI_QUERY_NAMES]);
  });

  it("prepares under adpipe_cli_<name> and rejects a wrong number of values", () => {
    expect(cliQueries.prepared("status_stored_offsets", ["group", "topic"]).name).toBe(
      "adpipe_cli_status_stored_offsets",
    );
    expect(() => cliQueries.prepared("status_stored_offsets", ["group"])).toThrow(
      expect.objectContaining({ name: "SqlError", code: "ADP_SQL_QUERY_INVALID" }),
    );
  });
});
