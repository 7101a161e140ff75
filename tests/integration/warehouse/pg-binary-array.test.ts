import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgBinaryArray } from "../../../packages/warehouse/src/pg-binary-array.js";
import { testServices } from "../../support/index.js";

/** The binary arrays the batch statements send are received by Postgres exactly as the values they came from. */
describe("binary array parameters through Postgres", () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: testServices().databaseUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  it("text[] with nulls, quotes, backslashes, separators and any Unicode", async () => {
    // Postgres text cannot hold NUL; the contract forbids control characters in ids anyway.
    const text = fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\u0000"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 12 }), async (values) => {
        const { rows } = await client.query<{ v: (string | null)[] }>("SELECT $1::text[] AS v", [
          pgBinaryArray("text", values),
        ]);
        expect(rows[0]?.v).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });

  it("bigint[], integer[], boolean[] and bytea[]", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.maxSafeInteger(), { nil: null }), { maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 12 }),
        fc.array(fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }), { maxLength: 8 }),
        async (numbers, booleans, blobs) => {
          const { rows } = await client.query<{
            n: string[];
            i: number[];
            b: boolean[];
            y: (Buffer | null)[];
          }>("SELECT $1::bigint[]::text[] AS n, $2::integer[] AS i, $3::boolean[] AS b, $4::bytea[] AS y", [
            pgBinaryArray("int8", numbers),
            pgBinaryArray(
              "int4",
              numbers.map((n) => (n === null ? null : n % 1_000_000)),
            ),
            pgBinaryArray("bool", booleans),
            pgBinaryArray("bytea", blobs),
          ]);
          expect(rows[0]?.n).toEqual(numbers.map((n) => (n === null ? null : String(n))));
          expect(rows[0]?.i).toEqual(numbers.map((n) => (n === null ? null : n % 1_000_000)));
          expect(rows[0]?.b).toEqual(booleans);
          expect(rows[0]?.y.map((b) => (b === null ? null : [...b]))).toEqual(
            blobs.map((b) => (b === null ? null : [...b])),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("an element of the wrong type is refused by Postgres, not misread", async () => {
    await expect(client.query("SELECT $1::bigint[] AS v", [pgBinaryArray("int4", [1, 2])])).rejects.toThrow(
      /array element type 23 \(integer\) instead of expected 20 \(bigint\)/,
    );
  });
});
