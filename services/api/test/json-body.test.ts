import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.js";
import { forbiddenKeyPath, MAX_JSON_DEPTH, nestsDeeperThan, parseJsonBody } from "../src/json-body.js";

/** Nesting depth of a decoded JSON value: what the text scan must agree with. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 6 })),
    fc.constantFrom("[", "]", "{", "}", '"', "\\", '\\"['),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("the JSON body parser", () => {
  it("property: the text scan measures the nesting JSON.parse finds (brackets in strings do not count)", () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, max) => {
        const text = JSON.stringify(value);
        expect(nestsDeeperThan(text, max)).toBe(depthOf(value) > max);
      }),
      { numRuns: 2_000 },
    );
  });

  it("refuses a deep body before parsing it, and never overflows the stack", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(() => parseJsonBody(deep)).toThrow(ApiError);
    try {
      parseJsonBody(deep);
    } catch (error) {
      expect(error).toMatchObject({
        statusCode: 400,
        details: [{ in: "body", path: [], message: "too_deep" }],
      });
    }
    const ok = `${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJsonBody(ok)).not.toThrow();
  });

  it("names the path of a prototype key, wherever it is", () => {
    expect(forbiddenKeyPath(JSON.parse('{"a":[1,{"__proto__":{}}]}'))).toEqual(["a", 1, "__proto__"]);
    expect(forbiddenKeyPath(JSON.parse('[{"constructor":{"prototype":{"x":1}}}]'))).toEqual([
      0,
      "constructor",
      "prototype",
    ]);
    // A constructor key without a prototype inside, or "__proto__" as a value, is data.
    expect(forbiddenKeyPath(JSON.parse('{"constructor":"Acme","x":"__proto__"}'))).toBeNull();
    expect(forbiddenKeyPath(JSON.parse("[1,2,3]"))).toBeNull();
    expect(() => parseJsonBody('{"\\u005f_proto__":1}')).toThrow(/forbidden key/);
  });

  it("answers invalid JSON without echoing it", () => {
    try {
      parseJsonBody('{"secret":"hunter2",');
      expect.unreachable();
    } catch (error) {
      expect((error as ApiError).message).toBe("request body is not valid JSON");
      expect(JSON.stringify((error as ApiError).details)).not.toContain("hunter2");
    }
  });
});
