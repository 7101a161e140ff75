import { describe, expect, expectTypeOf, it } from "vitest";
import { defineErrors } from "../src/define-errors.js";

const DEMO_CODES = ["invalid_options", "rebuild_failed"] as const;
class DemoError extends defineErrors("ADP_DEMO", DEMO_CODES) {}
class OtherError extends defineErrors("ADP_OTHER", ["invalid_options"]) {}

class DetailedError extends defineErrors("ADP_DETAILED", ["bad_rows"]) {
  readonly rows: readonly number[];
  constructor(message: string, rows: readonly number[], options?: { cause?: unknown }) {
    super("bad_rows", message, options);
    this.rows = rows;
  }
}

describe("defineErrors", () => {
  it("makes a class whose code carries the package prefix, with the subclass's name and the cause", () => {
    const cause = new Error("socket closed");
    const error = new DemoError("rebuild_failed", "rebuild failed", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(DemoError);
    expect(error).toMatchObject({
      name: "DemoError",
      code: "ADP_DEMO_REBUILD_FAILED",
      message: "rebuild failed",
    });
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain("DemoError: rebuild failed");
    expect("cause" in new DemoError("invalid_options", "no cause")).toBe(false);
    expectTypeOf(error.code).toEqualTypeOf<"ADP_DEMO_INVALID_OPTIONS" | "ADP_DEMO_REBUILD_FAILED">();
  });

  it("keeps the same local code of two packages apart", () => {
    const demo = new DemoError("invalid_options", "x");
    const other = new OtherError("invalid_options", "x");
    expect([demo.code, other.code]).toEqual(["ADP_DEMO_INVALID_OPTIONS", "ADP_OTHER_INVALID_OPTIONS"]);
    expect(other).not.toBeInstanceOf(DemoError);
    expect(DemoError.codes).toEqual(["ADP_DEMO_INVALID_OPTIONS", "ADP_DEMO_REBUILD_FAILED"]);
  });

  it("lets a subclass add fields and its own constructor", () => {
    const error = new DetailedError("2 rows rejected", [3, 7]);
    expect(error).toMatchObject({ name: "DetailedError", code: "ADP_DETAILED_BAD_ROWS", rows: [3, 7] });
  });

  it("refuses a code outside the tuple and badly formed prefixes or codes", () => {
    expect(() => new DemoError("nope" as "invalid_options", "x")).toThrow(
      "nope is not an error code of ADP_DEMO",
    );
    expect(() => defineErrors("adp_lower", ["a"])).toThrow(/UPPER_SNAKE_CASE/);
    expect(() => defineErrors("ADP_X", ["Bad-Code"])).toThrow(/lower_snake_case/);
  });
});
