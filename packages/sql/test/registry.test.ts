import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { defineErrors } from "@adpipe/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqlError } from "../src/errors.js";
import { createQueryRegistry } from "../src/registry.js";

/** A caller's own error class, with more codes than the registry needs. */
class OwnError extends defineErrors("ADP_OWN", ["query_not_found", "query_invalid", "other"]) {}

let dir: string;
let url: URL;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "adpipe-sql-"));
  url = pathToFileURL(`${dir}/`);
  writeFileSync(join(dir, "pick.sql"), "-- name: pick\r\n-- params: $1 id text\r\nSELECT $1::text AS id\r\n");
  writeFileSync(join(dir, "ping.sql"), "-- name: ping\n-- params: none\nSELECT 1;\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("createQueryRegistry", () => {
  it("loads a statement once, with normalised line endings and its param count", () => {
    const queries = createQueryRegistry(url, ["pick", "ping"], SqlError);
    const pick = queries.query("pick");
    expect(pick).toEqual({
      name: "pick",
      text: "-- name: pick\n-- params: $1 id text\nSELECT $1::text AS id\n",
      paramCount: 1,
    });
    writeFileSync(join(dir, "pick.sql"), "changed on disk");
    expect(queries.query("pick")).toBe(pick);
    expect(queries.text("ping")).toContain("SELECT 1;");
  });

  it("prepares under the package's statement prefix and checks the number of values", () => {
    const queries = createQueryRegistry(url, ["pick"], SqlError, { statementPrefix: "adpipe_test_" });
    expect(queries.prepared("pick", ["a"])).toEqual({
      name: "adpipe_test_pick",
      text: queries.text("pick"),
      values: ["a"],
    });
    expect(() => queries.prepared("pick", [])).toThrow(
      expect.objectContaining({ code: "ADP_SQL_QUERY_INVALID", message: "query pick takes 1 params, got 0" }),
    );
  });

  it("throws the caller's error class: query_not_found for a missing file, query_invalid for a bad header", () => {
    writeFileSync(join(dir, "bad.sql"), "-- name: bad\n-- params: none\nSELECT $1");
    const queries = createQueryRegistry(url, ["missing", "bad"], OwnError);
    const missing = (() => {
      try {
        queries.query("missing");
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(OwnError);
    expect(missing).toMatchObject({
      code: "ADP_OWN_QUERY_NOT_FOUND",
      message: expect.stringMatching(/cannot read .*missing\.sql$/),
    });
    expect((missing as Error).cause).toMatchObject({ code: "ENOENT" });
    expect(() => queries.query("bad")).toThrow(
      expect.objectContaining({
        code: "ADP_OWN_QUERY_INVALID",
        message: expect.stringMatching(/bad\.sql: header declares none, statement uses \$1$/),
      }),
    );
  });

  it("refuses names it was not given", () => {
    const queries = createQueryRegistry(url, ["pick"], SqlError);
    expect(() => queries.query("ping" as "pick")).toThrow(
      expect.objectContaining({
        code: "ADP_SQL_QUERY_NOT_FOUND",
        message: expect.stringMatching(/ping is not a registered query/),
      }),
    );
  });

  it("checks statements built in code like files, and checkAll finds unlisted files", () => {
    const built = { report: "-- name: report\n-- params: $1 a, $2 b\nSELECT $1, $2" };
    const queries = createQueryRegistry(url, ["pick", "report"], SqlError, { built });
    expect(queries.query("report").paramCount).toBe(2);
    expect(() => queries.checkAll()).toThrow(/ping\.sql not among the registered queries/);
    expect(createQueryRegistry(url, ["pick", "ping", "report"], SqlError, { built }).checkAll()).toHaveLength(
      3,
    );
    const broken = createQueryRegistry(url, ["report"], SqlError, {
      built: { report: "-- name: report\n-- params: $1 a\nSELECT 1" },
    });
    expect(() => broken.query("report")).toThrow(
      /built query report: header declares \$1, statement uses none/,
    );
  });
});
