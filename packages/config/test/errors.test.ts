import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";

describe("ConfigError", () => {
  it("names the first variable and lists every issue in its message", () => {
    const error = new ConfigError("invalid_env", [
      { variable: "A_VAR", message: "expected a number" },
      { variable: "B_VAR", message: "required" },
      { variable: "A_VAR", message: "too big" },
    ]);
    expect(error.variable).toBe("A_VAR");
    expect(error.variables).toEqual(["A_VAR", "B_VAR"]);
    expect(error.code).toBe("ADP_CONFIG_INVALID_ENV");
    expect(error.name).toBe("ConfigError");
    expect(error.message).toBe(
      "Invalid configuration (3 problems):\n  - A_VAR: expected a number\n  - B_VAR: required\n  - A_VAR: too big",
    );
  });

  it("has a one-line message for one issue and keeps the cause", () => {
    const cause = new Error("root");
    const error = new ConfigError("unreadable_file", [{ variable: "F", message: "cannot read /x" }], {
      cause,
    });
    expect(error.message).toBe("Invalid configuration: F: cannot read /x");
    expect(error.cause).toBe(cause);
  });

  it("refuses to be built without an issue", () => {
    expect(() => new ConfigError("invalid_env", [])).toThrow(TypeError);
  });
});
