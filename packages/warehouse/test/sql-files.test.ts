import { describe, expect, it } from "vitest";
import { loadMigrations } from "../src/migrate.js";
import { namedQuery, namedQueryNames, queryConfig } from "../src/queries.js";

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
      expect(query.paramCount).toBeGreaterThanOrEqual(0);
    }
  });

  it("queryConfig prepares under a stable name and rejects a wrong number of values", () => {
    const config = queryConfig("stored_offsets", ["group", "topic"]);
    expect(config.name).toBe("adpipe_stored_offsets");
    expect(() => queryConfig("stored_offsets", ["group"])).toThrow(/takes 2 params/);
    expect(() => namedQuery("no_such_query")).toThrow(/cannot read/);
  });
});
