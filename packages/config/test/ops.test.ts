import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/env.js";
import { LOG_LEVELS, logEnvSchema, opsEnvSchema } from "../src/ops.js";

describe("opsEnvSchema", () => {
  it("serves on the service's own default port on every interface, logging at info", () => {
    expect(parseEnv(opsEnvSchema(9102), {}).value).toEqual({
      OPS_PORT: 9102,
      OPS_HOST: "0.0.0.0",
      LOG_LEVEL: "info",
    });
    expect(parseEnv(opsEnvSchema(9105), {}).value?.OPS_PORT).toBe(9105);
  });

  it("takes port 0 (any free port), a host and every pino level", () => {
    for (const level of LOG_LEVELS) {
      expect(
        parseEnv(opsEnvSchema(9101), { OPS_PORT: "0", OPS_HOST: "127.0.0.1", LOG_LEVEL: level }).value,
      ).toEqual({ OPS_PORT: 0, OPS_HOST: "127.0.0.1", LOG_LEVEL: level });
    }
  });

  it("names each bad variable", () => {
    const parsed = parseEnv(opsEnvSchema(9101), { OPS_PORT: "70000", LOG_LEVEL: "loud" });
    expect(parsed.issues.map((issue) => issue.variable).sort()).toEqual(["LOG_LEVEL", "OPS_PORT"]);
    expect(parseEnv(logEnvSchema, { LOG_LEVEL: "verbose" }).ok).toBe(false);
  });
});
