import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgArray } from "../../../packages/warehouse/src/pg-array.js";
import { testServices } from "../../support/index.js";

/** The literals the batch statements send are read by Postgres exactly as the values they were built from. */
describe("pgArray literals through Postgres", () => {
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
          pgArray(values),
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
            pgArray(numbers),
            pgArray(numbers.map((n) => (n === null ? null : n % 1_000_000))),
            pgArray(booleans),
            pgArray(blobs),
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
});
