import { describe, expect, it } from "vitest";
import { headerFields, withoutComments } from "../src/header.js";

describe("headerFields", () => {
  it("reads key: value lines of the leading comment block, first occurrence wins", () => {
    const fields = headerFields(
      "-- name: q\n-- Free text: not a field.\n-- params: $1 a text\n-- name: other\nSELECT $1\n-- late: no",
    );
    expect(Object.fromEntries(fields)).toEqual({ name: "q", params: "$1 a text" });
  });

  it("joins indented continuation lines to the field above, not to free text", () => {
    const fields = headerFields(
      [
        "-- name: audit_insert",
        "-- params: $1 advertiser_id text, $2 action text,",
        "--         $3 old_budget bigint|null",
        "-- Free text after the params.",
        "--   indented free text",
        "INSERT INTO t VALUES ($1, $2, $3)",
      ].join("\n"),
    );
    expect(fields.get("params")).toBe("$1 advertiser_id text, $2 action text, $3 old_budget bigint|null");
    expect(fields.get("name")).toBe("audit_insert");
  });

  it("stops at the first line that is not a comment", () => {
    expect(headerFields("SELECT 1\n-- name: q").size).toBe(0);
  });

  it("withoutComments drops every comment, placeholders in comments included", () => {
    expect(withoutComments("SELECT $1 -- uses $2\n-- $3\nFROM t")).toBe("SELECT $1 \n\nFROM t");
  });
});
