import { describe, expect, it } from "vitest";
import { budgetPeriodEnvSchema } from "../src/budget-period.js";
import { parseEnv } from "../src/env.js";

describe("budgetPeriodEnvSchema", () => {
  it("defaults to daily budgets in UTC", () => {
    expect(parseEnv(budgetPeriodEnvSchema, {})).toMatchObject({
      ok: true,
      value: { BUDGET_PERIOD: "day", BUDGET_TIME_ZONE: "UTC" },
    });
  });

  it("takes every budget period and any IANA zone", () => {
    for (const period of ["hour", "day", "month", "lifetime"]) {
      const parsed = parseEnv(budgetPeriodEnvSchema, {
        BUDGET_PERIOD: period,
        BUDGET_TIME_ZONE: "Europe/Paris",
      });
      expect(parsed.value).toEqual({ BUDGET_PERIOD: period, BUDGET_TIME_ZONE: "Europe/Paris" });
    }
  });

  it("names the variable of an unknown period or zone", () => {
    const parsed = parseEnv(budgetPeriodEnvSchema, {
      BUDGET_PERIOD: "week",
      BUDGET_TIME_ZONE: "Mars/Olympus",
    });
    expect(parsed.ok).toBe(false);
    expect(parsed.issues.map((issue) => issue.variable).sort()).toEqual([
      "BUDGET_PERIOD",
      "BUDGET_TIME_ZONE",
    ]);
    expect(parsed.issues.find((issue) => issue.variable === "BUDGET_TIME_ZONE")?.message).toBe(
      "expected an IANA time zone name",
    );
  });
});
