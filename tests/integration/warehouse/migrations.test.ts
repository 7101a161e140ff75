import { loadMigrations, migrate, WarehouseError } from "@adpipe/warehouse";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support.js";

const VIEWS = [
  "aggregated_advertiser_spend",
  "combined_spend_budget",
  "daily_spend",
  "hourly_average_budget",
  "hourly_spend",
  "latest_changed_budgets",
  "latest_serving_status",
  "monthly_spend",
];

describe("migrations", () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("apply once under concurrency, then are a no-op; the migrations table records versions and checksums", async () => {
    const db = await createTestDatabase("migrate", { migrate: false });
    databases.push(db);
    const files = loadMigrations();
    // Four replicas starting at once: the advisory lock lets one apply, the others find nothing to do.
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(db.pool)));
    const appliedBy = results.filter((r) => r.applied.length > 0);
    expect(appliedBy).toHaveLength(1);
    expect(appliedBy[0]!.applied).toEqual(files.map((m) => m.version));
    for (const result of results) expect(result.current).toBe(files.at(-1)!.version);
    expect(await migrate(db.pool)).toEqual({ applied: [], current: files.at(-1)!.version });
    const { rows } = await db.pool.query<{ version: number; checksum: string }>(
      "SELECT version, checksum FROM ingest.schema_migrations ORDER BY version",
    );
    expect(rows).toEqual(files.map((m) => ({ version: m.version, checksum: m.checksum })));
  });

  it("create the layers, the eight views with the seed's columns, partition functions and both roles", async () => {
    const db = await createTestDatabase("migrate_objects");
    databases.push(db);
    const columns = async (schema: string, table: string): Promise<string[]> =>
      (
        await db.pool.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
          [schema, table],
        )
      ).rows.map((row) => row.column_name);
    expect((await columns("bronze", "ad_click_events_raw")).slice(0, 8)).toEqual([
      "event_type",
      "click_id",
      "advertiser",
      "advertiser_id",
      "ad_id",
      "amount",
      "budget_value",
      "timestamp",
    ]);
    expect((await columns("silver", "ad_click_events_clean")).slice(0, 14)).toEqual([
      "event_type",
      "click_id",
      "advertiser",
      "advertiser_id",
      "ad_id",
      "amount",
      "budget_value",
      "timestamp",
      "is_valid",
      "processed_at",
      "ingest_year",
      "ingest_month",
      "ingest_day",
      "ingest_hour",
    ]);
    expect((await columns("gold", "advertiser_spend")).slice(0, 12)).toEqual([
      "advertiser",
      "advertiser_id",
      "gross_spend",
      "net_spend",
      "record_count",
      "budget_value",
      "can_serve",
      "window_start",
      "window_end",
      "spend_hour",
      "spend_day",
      "spend_month",
    ]);
    const seedViews: Record<string, string[]> = {
      combined_spend_budget: ["advertiser", "spend_day", "category", "amount"],
      latest_changed_budgets: ["advertiser", "spend_hour", "budget_value"],
      latest_serving_status: ["advertiser", "latest_hour", "latest_can_serve"],
      hourly_average_budget: ["advertiser", "spend_hour", "avg_budget"],
      aggregated_advertiser_spend: [
        "advertiser",
        "total_gross_spend",
        "total_net_spend",
        "total_clicks",
        "latest_budget_value",
        "latest_activity_time",
        "current_serving_status",
      ],
      monthly_spend: [
        "advertiser",
        "spend_month",
        "monthly_gross_spend",
        "monthly_net_spend",
        "total_clicks",
        "budget_value",
        "can_serve_status",
      ],
      hourly_spend: [
        "advertiser",
        "spend_hour_start",
        "spend_hour_end",
        "hourly_gross_spend",
        "hourly_net_spend",
      ],
      daily_spend: ["advertiser", "spend_day", "daily_gross_spend", "daily_net_spend"],
    };
    for (const viewName of VIEWS)
      expect(await columns("gold", viewName), viewName).toEqual(seedViews[viewName]);
    // Money is exact NUMERIC, never float.
    const floats = await db.pool.query(
      `SELECT table_schema, table_name, column_name FROM information_schema.columns
       WHERE table_schema IN ('bronze', 'silver', 'gold') AND data_type IN ('real', 'double precision')`,
    );
    expect(floats.rows).toEqual([]);

    const roles = await db.pool.query<{ rolname: string; rolcanlogin: boolean }>(
      "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('adpipe_writer', 'adpipe_reader') ORDER BY 1",
    );
    expect(roles.rows).toEqual([
      { rolname: "adpipe_reader", rolcanlogin: false },
      { rolname: "adpipe_writer", rolcanlogin: false },
    ]);
    const privilege = async (role: string, table: string, what: string): Promise<boolean> =>
      (
        await db.pool.query<{ ok: boolean }>("SELECT has_table_privilege($1, $2, $3) AS ok", [
          role,
          table,
          what,
        ])
      ).rows[0]!.ok;
    expect(await privilege("adpipe_reader", "gold.daily_spend", "SELECT")).toBe(true);
    expect(await privilege("adpipe_reader", "gold.advertiser_spend", "INSERT")).toBe(false);
    expect(await privilege("adpipe_reader", "bronze.ad_click_events_raw", "SELECT")).toBe(false);
    expect(await privilege("adpipe_writer", "bronze.ad_click_events_raw", "INSERT")).toBe(true);
    expect(await privilege("adpipe_writer", "bronze.ad_click_events_raw", "UPDATE")).toBe(false);
    expect(await privilege("adpipe_writer", "gold.advertiser_spend", "UPDATE")).toBe(true);

    // Day partitions on demand (as the writer role would), and retention drops whole old days.
    const client = await db.pool.connect();
    try {
      await client.query("SET ROLE adpipe_writer");
      const created = await client.query<{ n: number }>(
        "SELECT ingest.ensure_day_partitions('2026-01-01', '2026-01-03') AS n",
      );
      expect(created.rows[0]!.n).toBe(9);
      const again = await client.query<{ n: number }>(
        "SELECT ingest.ensure_day_partitions('2026-01-01', '2026-01-03') AS n",
      );
      expect(again.rows[0]!.n).toBe(0);
      await client.query("RESET ROLE");
      const dropped = await client.query<{ name: string }>(
        "SELECT * FROM ingest.drop_day_partitions_before('2026-01-02') AS name",
      );
      expect(dropped.rows.map((r) => r.name).sort()).toEqual([
        "bronze.ad_click_events_raw_p20260101",
        "silver.ad_click_events_clean_p20260101",
        "silver.duplicate_clicks_p20260101",
      ]);
    } finally {
      client.release();
    }
  });

  it("refuse to run when an applied migration was edited (checksum mismatch)", async () => {
    const db = await createTestDatabase("migrate_checksum");
    databases.push(db);
    await db.pool.query("UPDATE ingest.schema_migrations SET checksum = 'edited' WHERE version = 3");
    const error = await migrate(db.pool).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).code).toBe("migration_checksum_mismatch");
  });

  it("run concurrently in separate databases (roles are cluster-wide and created idempotently)", async () => {
    const many = await Promise.all(
      [1, 2, 3].map((i) => createTestDatabase(`migrate_parallel_${i}`, { migrate: false })),
    );
    databases.push(...many);
    const results = await Promise.all(many.map((db) => migrate(db.pool)));
    for (const result of results) expect(result.applied).toHaveLength(loadMigrations().length);
  });
});
