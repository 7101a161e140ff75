import { describe, expect, it } from "vitest";
import { REPORTS } from "../src/reports/definitions.js";
import { API_QUERY_FILES, apiQueries } from "../src/sql.js";

describe("the API's named queries", () => {
  it("loads every file and every built report query, each header matching its placeholders", () => {
    const loaded = apiQueries.checkAll();
    expect(Object.fromEntries(loaded.map((query) => [query.name, query.paramCount]))).toEqual({
      advertisers_list: 3,
      alert_thresholds_get: 1,
      alert_thresholds_put: 3,
      alerts_list: 5,
      audit_insert: 18,
      audit_list: 3,
      ping: 0,
      topic_resets: 1,
      ...Object.fromEntries(REPORTS.map((report) => [`report_${report.name}`, 6])),
    });
    expect(apiQueries.names).toEqual([
      ...API_QUERY_FILES,
      ...REPORTS.map((report) => `report_${report.name}`),
    ]);
  });

  it("prepares under adpipe_api_<name> and rejects a wrong number of values", () => {
    expect(apiQueries.prepared("topic_resets", ["adclicks"]).name).toBe("adpipe_api_topic_resets");
    expect(() => apiQueries.prepared("report_daily", [null, null, null, null, 101])).toThrow(
      "query report_daily takes 6 params, got 5",
    );
  });
});
