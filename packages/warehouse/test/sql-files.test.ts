import { headerFields } from "@adpipe/sql";
import { describe, expect, it } from "vitest";
import { loadMigrations } from "../src/migrate.js";
import { namedQuery, namedQueryNames, queryConfig, type WarehouseQueryName } from "../src/queries.js";

describe("SQL assets", () => {
  it("migrations are contiguous, each header names its version and the previous one", () => {
    const migrations = loadMigrations();
    expect(migrations.length).toBeGreaterThanOrEqual(8);
    migrations.forEach((migration, index) => {
      expect(migration.version).toBe(index + 1);
      expect(migration.sql).toContain(`-- version: ${String(index + 1).padStart(4, "0")}`);
      expect(migration.sql).toContain(
        `-- previous: ${index === 0 ? "none" : String(index).padStart(4, "0")}`,
      );
      expect(migration.checksum).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  it("every named query loads: one statement, a params header matching the placeholders it uses", () => {
    const names = namedQueryNames();
    expect(names).toEqual(
      expect.arrayContaining([
        "write_batch",
        "offsets_lock",
        "click_registry_claim",
        "gold_reevaluate_serving",
      ]),
    );
    for (const name of names) {
      const query = namedQuery(name);
      expect(query.text.startsWith(`-- name: ${name}\n`)).toBe(true);
      // The header lists $1..$n in order, and the statement uses every one of them (a gap would leave
      // Postgres unable to type the unused parameter).
      const declared = [...(headerFields(query.text).get("params") ?? "").matchAll(/\$(\d+)/g)].map((m) =>
        Number(m[1]),
      );
      const used = new Set(
        [...query.text.replace(/--[^\n]*/g, "").matchAll(/\$(\d+)/g)].map((m) => Number(m[1])),
      );
      const expected = Array.from({ length: query.paramCount }, (_, index) => index + 1);
      expect({ name, declared, used: [...used].sort((a, b) => a - b) }).toEqual({
        name,
        declared: expected,
        used: expected,
      });
    }
    // Every query but the COPY statements (their rows follow as COPY data), gold_freshness (measured
    // against the database's own clock) and calendar_observations (all of them, few) takes parameters; a few
    // counts pinned from their callers.
    expect(names.filter((name) => namedQuery(name).paramCount === 0)).toEqual([
      "bronze_copy",
      "calendar_observations",
      "gold_freshness",
      "silver_clean_copy",
      "silver_duplicate_copy",
    ]);
    expect(namedQuery("stored_offsets").paramCount).toBe(2);
    expect(namedQuery("offsets_lock").paramCount).toBe(3);
    expect(namedQuery("bronze_page").paramCount).toBe(7);
    expect(namedQuery("write_batch").paramCount).toBe(71);
    expect(namedQuery("billing_state").paramCount).toBe(10);
    expect(namedQuery("topic_offsets_move").paramCount).toBe(7);
    expect(namedQuery("period_spend_windows").paramCount).toBe(7);
    expect(namedQuery("period_click_ids_windows").paramCount).toBe(3);
  });

  it("queryConfig prepares under a stable name and rejects a wrong number of values", () => {
    const config = queryConfig("stored_offsets", ["group", "topic"]);
    expect(config.name).toBe("adpipe_stored_offsets");
    expect(() => queryConfig("stored_offsets", ["group"])).toThrow(/takes 2 params/);
    expect(() => namedQuery("no_such_query" as WarehouseQueryName)).toThrow(/cannot read/);
  });
});
