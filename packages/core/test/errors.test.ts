import { describe, expect, it } from "vitest";
import { CORE_ERROR_CODES, CoreError, isCoreError } from "../src/errors.js";

describe("CoreError", () => {
  it("carries a code from the closed list and the cause", () => {
    const cause = new RangeError("bad zone");
    const error = new CoreError("invalid_time_zone", "unknown zone", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("CoreError");
    expect(error.code).toBe("ADP_CORE_INVALID_TIME_ZONE");
    expect(error.cause).toBe(cause);
    expect(isCoreError(error)).toBe(true);
    expect(isCoreError(new Error("x"))).toBe(false);
    expect(CoreError.codes).toContain(error.code);
    expect(CoreError.codes).toHaveLength(CORE_ERROR_CODES.length);
  });
});
