import { describe, expect, it } from "vitest";
import { z } from "zod";
import { envVar, loadEnv, parseEnv } from "../src/env.js";
import { ConfigError } from "../src/errors.js";

const schema = z.object({
  PORT: envVar.integer(1, 65_535).default(8080),
  DEBUG: envVar.boolean().default(false),
  HOSTS: envVar.list().optional(),
  SECRET_TOKEN: z.string().min(10),
  DB: envVar.url(["postgres:"]).optional(),
});

describe("loadEnv", () => {
  it("parses typed values and applies defaults", () => {
    const config = loadEnv(schema, { SECRET_TOKEN: "0123456789", HOSTS: " a:1, b:2 ,," });
    expect(config).toEqual({ PORT: 8080, DEBUG: false, HOSTS: ["a:1", "b:2"], SECRET_TOKEN: "0123456789" });
  });

  it("treats blank values as unset", () => {
    expect(loadEnv(schema, { SECRET_TOKEN: "0123456789", PORT: "  ", DEBUG: "" }).PORT).toBe(8080);
  });

  it("accepts the usual boolean spellings", () => {
    for (const [text, value] of [
      ["true", true],
      ["YES", true],
      ["1", true],
      ["on", true],
      ["false", false],
      ["No", false],
      ["0", false],
      ["off", false],
    ] as const) {
      expect(loadEnv(schema, { SECRET_TOKEN: "0123456789", DEBUG: text }).DEBUG).toBe(value);
    }
  });

  it("throws one ConfigError naming every bad variable, without their values", () => {
    const env = { PORT: "99999", DEBUG: "perhaps", SECRET_TOKEN: "s3cr3t", DB: "mysql://u:hunter2@h/db" };
    let caught: unknown;
    try {
      loadEnv(schema, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe("ADP_CONFIG_INVALID_ENV");
    expect(error.variables.sort()).toEqual(["DB", "DEBUG", "PORT", "SECRET_TOKEN"]);
    expect(error.variable).toBe(error.issues[0]?.variable);
    for (const name of ["PORT", "DEBUG", "SECRET_TOKEN", "DB"]) expect(error.message).toContain(`${name}:`);
    for (const value of ["99999", "perhaps", "s3cr3t", "hunter2"]) expect(error.message).not.toContain(value);
  });

  it("reports a missing required variable by name", () => {
    expect(() => loadEnv(schema, {})).toThrow(/SECRET_TOKEN/);
  });

  it("parseEnv returns the issues instead of throwing", () => {
    const result = parseEnv(schema, { SECRET_TOKEN: "x" });
    expect(result.ok).toBe(false);
    expect(result.issues.map((issue) => issue.variable)).toEqual(["SECRET_TOKEN"]);
  });

  it("rejects integers that are not whole numbers", () => {
    expect(parseEnv(schema, { SECRET_TOKEN: "0123456789", PORT: "80.5" }).ok).toBe(false);
    expect(parseEnv(schema, { SECRET_TOKEN: "0123456789", PORT: "0" }).ok).toBe(false);
  });
});
