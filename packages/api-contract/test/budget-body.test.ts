import { BUDGET_MODES } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetPutBodySchema } from "../src/schemas.js";

/** The PUT /v1/advertisers/{id}/budget body: `mode` is one of the contract's modes, or absent. */
describe("the budget request body", () => {
  const amount = fc.oneof(fc.constantFrom("0", "250.50", "1"), fc.integer({ min: 0, max: 1_000_000 }));

  it("accepts a mode exactly when it is one of the contract's modes, and passes it through unchanged", () => {
    fc.assert(
      fc.property(amount, fc.oneof(fc.constantFrom(...BUDGET_MODES), fc.jsonValue()), (value, mode) => {
        const result = budgetPutBodySchema.safeParse({ amount: value, mode });
        const valid = typeof mode === "string" && (BUDGET_MODES as readonly string[]).includes(mode);
        expect(result.success).toBe(valid);
        if (result.success) expect(result.data.mode).toBe(mode);
        else expect(result.error.issues.map((issue) => issue.path.join("."))).toEqual(["mode"]);
      }),
      { numRuns: 2_000 },
    );
  });

  it("leaves the mode unset when the body has none", () => {
    fc.assert(
      fc.property(amount, (value) => {
        const result = budgetPutBodySchema.safeParse({ amount: value });
        expect(result.success && result.data.mode).toBeUndefined();
      }),
    );
  });

  it("requires the amount with a mode change too, saying so", () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...BUDGET_MODES), { nil: undefined }), (mode) => {
        const result = budgetPutBodySchema.safeParse(mode === undefined ? {} : { mode });
        expect(result.success).toBe(false);
        expect(result.error?.issues).toEqual([
          expect.objectContaining({
            path: ["amount"],
            message: expect.stringMatching(/^amount is required, also to change only the mode/),
          }),
        ]);
      }),
    );
  });

  it("refuses budget_mode spelled as the event field (the body is strict)", () => {
    expect(budgetPutBodySchema.safeParse({ amount: "1", budget_mode: "hard_cap" }).success).toBe(false);
  });
});
