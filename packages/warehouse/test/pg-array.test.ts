import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pgArray, pgArrayElement } from "../src/pg-array.js";

/**
 * A reference reader of the literals pgArray writes (Postgres' array_in rules for one dimension): quoted
 * elements unescape `\x` to `x`; an unquoted NULL is SQL NULL; other unquoted elements are taken as they are.
 */
function readLiteral(literal: string): (string | null)[] {
  expect(literal.startsWith("{") && literal.endsWith("}")).toBe(true);
  const body = literal.slice(1, -1);
  const out: (string | null)[] = [];
  if (body === "") return out;
  let i = 0;
  while (i <= body.length) {
    if (body[i] === '"') {
      let value = "";
      i++;
      while (body[i] !== '"') {
        if (body[i] === "\\") i++;
        value += body[i];
        i++;
      }
      i++;
      out.push(value);
    } else {
      let end = body.indexOf(",", i);
      if (end === -1) end = body.length;
      const raw = body.slice(i, end);
      out.push(raw === "NULL" ? null : raw.replace(/\\\\/g, "\\"));
      i = end;
    }
    i++; // the comma
  }
  return out;
}

describe("pgArray: Postgres array literals for the batch statements", () => {
  it("writes NULL, numbers, booleans, quoted strings and bytea hex", () => {
    expect(pgArray([])).toBe("{}");
    expect(pgArray([null, undefined, 0, -12, 9007199254740991])).toBe("{NULL,NULL,0,-12,9007199254740991}");
    expect(pgArray([true, false])).toBe("{t,f}");
    expect(pgArray(["", "NULL", "a b", "x,y", "{z}", 'q"uote', "back\\slash"])).toBe(
      '{"","NULL","a b","x,y","{z}","q\\"uote","back\\\\slash"}',
    );
    expect(pgArray([Buffer.from("AB"), new Uint8Array([0, 255])])).toBe("{\\\\x4142,\\\\x00ff}");
  });

  it("refuses numbers that are not finite (never sends NaN to a bigint column)", () => {
    expect(() => pgArrayElement(Number.NaN)).toThrow(RangeError);
    expect(() => pgArrayElement(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it("any strings and nulls read back exactly as given", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: "grapheme" }), { nil: null }), { maxLength: 20 }),
        (values) => {
          expect(readLiteral(pgArray(values))).toEqual(values);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("bytes read back as the bytea hex input Postgres expects", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const [element] = readLiteral(pgArray([bytes]));
        expect(element).toBe(`\\x${Buffer.from(bytes).toString("hex")}`);
      }),
      { numRuns: 1000 },
    );
  });
});
