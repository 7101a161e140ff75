import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkStatement } from "../src/statement.js";

const header = (params: string) => `-- name: q\n-- params: ${params}\n`;

describe("checkStatement", () => {
  it("accepts a header listing exactly the placeholders the statement uses", () => {
    expect(checkStatement("q", `${header("$1 a text, $2 b int")}SELECT $2, $1, $1;`)).toEqual({
      paramCount: 2,
    });
    expect(checkStatement("q", `${header("none")}SELECT 1`)).toEqual({ paramCount: 0 });
  });

  it("rejects a wrong or missing name, a missing params line", () => {
    expect(checkStatement("q", "-- name: other\n-- params: none\nSELECT 1")).toEqual({
      problem: 'header "-- name: q" missing',
    });
    expect(checkStatement("q", "-- name: q\nSELECT 1")).toEqual({ problem: 'header "-- params:" missing' });
  });

  it("rejects params out of order, undeclared, unused or skipped", () => {
    expect(checkStatement("q", `${header("$2 b, $1 a")}SELECT $1, $2`)).toEqual({
      problem: "header params must be $1..$n in order, found $2, $1",
    });
    expect(checkStatement("q", `${header("$1 a")}SELECT $1, $2`)).toEqual({
      problem: "header declares $1, statement uses $1, $2",
    });
    expect(checkStatement("q", `${header("$1 a, $2 b")}SELECT $2`)).toEqual({
      problem: "header declares $1, $2, statement uses $2",
    });
    expect(checkStatement("q", `${header("none")}SELECT 1 -- not $1`)).toEqual({ paramCount: 0 });
  });

  it("rejects more than one statement", () => {
    expect(checkStatement("q", `${header("none")}SELECT 1; SELECT 2;`)).toEqual({
      problem: "more than one statement",
    });
  });

  it("counts n params for any statement using $1..$n in any order and repetition", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i + 1),
              { minLength: n },
            ),
            fc.array(fc.integer({ min: 1, max: n })),
          ),
        ),
        ([n, order, repeats]) => {
          const declared = Array.from({ length: n }, (_, i) => `$${i + 1} p${i + 1} text`).join(", ");
          const used = [...order, ...repeats].map((k) => `$${k}`).join(", ");
          expect(checkStatement("q", `${header(declared)}SELECT ${used}`)).toEqual({ paramCount: n });
          if (n > 1) {
            const missing = order.filter((k) => k !== n).map((k) => `$${k}`);
            expect(checkStatement("q", `${header(declared)}SELECT ${missing.join(", ")}`)).toHaveProperty(
              "problem",
            );
          }
        },
      ),
    );
  });
});
