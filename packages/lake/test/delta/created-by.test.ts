import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildCommit, LAKE_VERSION, parquetCreatedBy } from "../../src/build-info.js";
import {
  DEFAULT_PARQUET_OPTIONS,
  parquetCreatedByOf,
  rowsToArrow,
  writeParquet,
} from "../../src/delta/parquet.js";
import { types } from "../../src/delta/schema.js";

/**
 * parquet-mr's VersionParser.FORMAT, matched against the whole string (Java's Matcher.matches()). A
 * created_by it cannot parse makes Spark and other parquet-mr readers ignore the statistics of binary columns
 * (PARQUET-251: "Ignoring statistics because created_by could not be parsed").
 */
const VERSION_PARSER = /^(.*?)\s+version\s*(?:([^(]*?)\s*(?:\(\s*build\s*([^)]*?)\s*\))?)?$/;
/** parquet-mr's SemanticVersion pattern (major.minor.patch, optional unknown/pre-release/build parts). */
const SEMANTIC_VERSION = /^(\d+)\.(\d+)\.(\d+)([^-+]*)?(?:-([^+]*))?(?:\+(.*))?$/;

function parseLikeParquetMr(createdBy: string) {
  const match = VERSION_PARSER.exec(createdBy);
  if (match === null || !match[1]) return null;
  return { application: match[1], version: match[2] ?? null, build: match[3] ?? null };
}

const columns = [
  { name: "advertiser_id", type: types.string(), nullable: false },
  { name: "amount", type: types.decimal(20, 6), nullable: true },
];

describe("Parquet created_by", () => {
  it("the footer of a written file carries created_by in the form parquet-mr's VersionParser parses", async () => {
    const bytes = writeParquet(
      rowsToArrow(columns, [
        { advertiser_id: "adv-1", amount: 1_500_000n },
        { advertiser_id: "adv-2", amount: null },
      ]),
      DEFAULT_PARQUET_OPTIONS,
    );
    const createdBy = await parquetCreatedByOf(bytes);
    expect(createdBy).toBeDefined();
    const parsed = parseLikeParquetMr(createdBy ?? "");
    expect(parsed, createdBy).not.toBeNull();
    expect(parsed?.application).toBe("adpipe-lake");
    expect(parsed?.version).toBe(LAKE_VERSION);
    expect(parsed?.version ?? "").toMatch(SEMANTIC_VERSION);
    // In a checkout (as here) the build is the commit; an image without .git sets ADPIPE_BUILD_COMMIT.
    const commit = buildCommit();
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(parsed?.build).toBe(commit?.slice(0, 12));
  });

  it("the old value is what parquet-mr could not parse", () => {
    expect(parseLikeParquetMr("adpipe-lake (parquet-wasm)")).toBeNull();
    expect(
      parseLikeParquetMr("parquet-mr version 1.8.0 (build 0fda28af84b9746396014ad6a415b90592a98b3b)"),
    ).toEqual({
      application: "parquet-mr",
      version: "1.8.0",
      build: "0fda28af84b9746396014ad6a415b90592a98b3b",
    });
  });

  it("parses for any commit, and without one", () => {
    fc.assert(
      fc.property(fc.option(fc.stringMatching(/^[0-9a-f]{7,40}$/), { nil: null }), (commit) => {
        const parsed = parseLikeParquetMr(parquetCreatedBy(commit));
        expect(parsed).toEqual({
          application: "adpipe-lake",
          version: LAKE_VERSION,
          build: commit === null ? null : commit.slice(0, 12),
        });
      }),
    );
  });

  it("ADPIPE_BUILD_COMMIT names the build; anything but a hex commit is ignored", () => {
    expect(buildCommit({ ADPIPE_BUILD_COMMIT: "ABCDEF1234567" })).toBe("abcdef1234567");
    expect(buildCommit({ ADPIPE_BUILD_COMMIT: "v1.2 (evil)" })).toBeNull();
  });
});
