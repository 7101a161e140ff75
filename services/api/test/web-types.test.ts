import { describe, expectTypeOf, it } from "vitest";
import type { MonthlyRow, Page, ServingRow, TotalRow } from "../src/web-types.js";

// Type-level checks (tsc over the tests, `npm run typecheck`) of the types web/src/api.ts re-exports.
describe("dashboard types", () => {
  it("carry every column of the monthly report, can_serve_status included", () => {
    expectTypeOf<MonthlyRow>().toEqualTypeOf<{
      advertiser: string;
      spend_month: string | null;
      monthly_gross_spend: string | null;
      monthly_net_spend: string | null;
      total_clicks: number | null;
      budget_value: string | null;
      can_serve_status: boolean | null;
    }>();
    expectTypeOf<TotalRow["current_serving_status"]>().toEqualTypeOf<boolean | null>();
  });

  it("read serving states and pages as the route schemas declare them", () => {
    expectTypeOf<ServingRow["reason"]>().toEqualTypeOf<
      "budget_exhausted" | "no_budget" | "paused" | "ahead_of_pace" | "unknown_advertiser" | null
    >();
    expectTypeOf<Page<TotalRow>>().toHaveProperty("next_offset").toEqualTypeOf<number | null>();
  });
});
