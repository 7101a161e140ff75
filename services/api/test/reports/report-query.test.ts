import { describe, expect, it } from "vitest";
import { REPORTS, type ReportDefinition } from "../../src/reports/definitions.js";
import { reportQueryName, reportQueryText } from "../../src/reports/report-query.js";

const selected = (text: string) => /^SELECT (.*)$/m.exec(text)?.[1]?.split(", ");
const ordered = (text: string) => /^ORDER BY (.*)$/m.exec(text)?.[1];

describe("report queries built from the definitions", () => {
  it("select exactly the definition's columns from its view, filter and order by its time column", () => {
    for (const report of REPORTS as readonly ReportDefinition[]) {
      const text = reportQueryText(report);
      expect(text.startsWith(`-- name: ${reportQueryName(report)}\n`)).toBe(true);
      expect(selected(text)).toEqual(Object.keys(report.columns).map((column) => `v.${column}`));
      expect(text).toContain(`\nFROM gold.${report.view} v\n`);
      expect(text).toContain(`OR v.${report.timeColumn} >= $3::timestamptz)`);
      expect(text).toContain(`OR v.${report.timeColumn} < $4::timestamptz)`);
      expect(text.trimEnd().endsWith("LIMIT $5 OFFSET $6")).toBe(true);
    }
  });

  it("order by advertiser and the time column unless the definition says otherwise", () => {
    const order = Object.fromEntries(
      REPORTS.map((report) => [report.name, ordered(reportQueryText(report))]),
    );
    expect(order).toEqual({
      total: "v.advertiser",
      monthly: "v.advertiser, v.spend_month",
      daily: "v.advertiser, v.spend_day",
      hourly: "v.advertiser, v.spend_hour_start",
      budget_trend: "v.advertiser, v.spend_hour",
      budget_changes: "v.advertiser, v.spend_hour",
      serving_status: "v.advertiser, v.latest_hour",
      combined: "v.advertiser, v.spend_day, v.category DESC",
    });
  });

  it("refuses names that are not plain identifiers (they are written into the SQL)", () => {
    const daily = REPORTS.find((report) => report.name === "daily") as ReportDefinition;
    expect(() => reportQueryText({ ...daily, view: "daily_spend; DROP TABLE x" })).toThrow(
      /not a plain identifier/,
    );
    expect(() => reportQueryText({ ...daily, columns: { "advertiser, secret": "text" } })).toThrow(
      /not a plain identifier/,
    );
    expect(() => reportQueryText({ ...daily, orderBy: ["advertiser; --"] })).toThrow(/cannot order by/);
  });
});
