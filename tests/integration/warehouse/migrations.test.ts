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

  it("0012 records budget sources and re-evaluates Gold written under the latest-observation rule", async () => {
    const db = await createTestDatabase("migrate_budget_sources", { migrate: false });
    databases.push(db);
    // The warehouse as migration 0011 left it (with the migrator's bookkeeping), holding data of the old rule.
    await db.pool.query(`CREATE SCHEMA IF NOT EXISTS ingest;
      CREATE TABLE ingest.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer NOT NULL)`);
    for (const migration of loadMigrations().filter((m) => m.version <= 11)) {
      await db.pool.query(migration.sql);
      await db.pool.query(
        "INSERT INTO ingest.schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, 0)",
        [migration.version, migration.name, migration.checksum],
      );
    }
    await db.pool.query(`
      INSERT INTO gold.budget_history (advertiser_id, advertiser, event_time, budget_value, event_type, topic,
                                       "partition", "offset", kafka_timestamp)
      VALUES ('a', 'A', '2026-11-25T10:00:00Z', 10, 'budget_update', 't', 0, 1, '2026-11-25T10:00:00Z'),
             ('a', 'A', '2026-11-25T10:30:00Z', 99, 'ad_click', 't', 0, 2, '2026-11-25T10:30:00Z'),
             ('b', 'B', '2026-11-25T10:30:00Z', 7, 'ad_click', 't', 1, 1, '2026-11-25T10:30:00Z');
      INSERT INTO gold.advertiser_spend (advertiser, advertiser_id, net_spend, gross_spend, record_count,
                                         budget_value, budget_event_time, can_serve, period_net_spend, window_start,
                                         window_end, spend_hour, spend_day, spend_month)
      SELECT 'A', 'a', 50, 50, 1, 99, '2026-11-25T10:30:00Z'::timestamptz, true, 50, w, w + interval '1 hour', w,
             '2026-11-25T00:00:00Z'::timestamptz, '2026-11-01T00:00:00Z'::timestamptz
      FROM (VALUES ('2026-11-25T10:00:00Z'::timestamptz), ('2026-11-25T11:00:00Z'::timestamptz)) v(w)
      UNION ALL
      SELECT 'B', 'b', 1, 1, 1, 7, '2026-11-25T10:30:00Z', true, 1, '2026-11-25T10:00:00Z',
             '2026-11-25T11:00:00Z', '2026-11-25T10:00:00Z', '2026-11-25T00:00:00Z', '2026-11-01T00:00:00Z'`);

    expect((await migrate(db.pool)).applied).toEqual(
      loadMigrations()
        .filter((m) => m.version > 11)
        .map((m) => m.version),
    );
    const history = await db.pool.query<{ event_type: string; source: string }>(
      'SELECT event_type, source FROM gold.budget_history ORDER BY advertiser_id, "offset"',
    );
    expect(history.rows.map((r) => [r.event_type, r.source])).toEqual([
      ["budget_update", "budget_update"],
      ["ad_click", "click"],
      ["ad_click", "click"],
    ]);
    // a: the operator's 10 now outranks the click's 99 in both hours, so 50 of spend exhausts it.
    const gold = await db.pool.query<Record<string, unknown>>(
      `SELECT advertiser_id, budget_value::text, budget_source, can_serve, serving_reason
       FROM gold.advertiser_spend ORDER BY advertiser_id, window_start`,
    );
    expect(gold.rows).toEqual([
      {
        advertiser_id: "a",
        budget_value: "10.000000",
        budget_source: "budget_update",
        can_serve: false,
        serving_reason: "budget_exhausted",
      },
      {
        advertiser_id: "a",
        budget_value: "10.000000",
        budget_source: "budget_update",
        can_serve: false,
        serving_reason: "budget_exhausted",
      },
      {
        advertiser_id: "b",
        budget_value: "7.000000",
        budget_source: "click",
        can_serve: true,
        serving_reason: null,
      },
    ]);
    // The reporting role can use the rule (the budget trend view calls it).
    const client = await db.pool.connect();
    try {
      await client.query("SET ROLE adpipe_reader");
      const trend = await client.query<{ avg_budget: string }>(
        "SELECT avg_budget::text FROM gold.hourly_average_budget WHERE advertiser = 'A' ORDER BY spend_hour",
      );
      // 10:00-10:30 and 10:30-11:00 both under the explicit 10 (the click's 99 never applies), then 10.
      expect(trend.rows.map((r) => r.avg_budget)).toEqual(["10.000000", "10.000000"]);
    } finally {
      await client.query("RESET ROLE");
      client.release();
    }
  });

  it("refuse to run when an applied migration was edited (checksum mismatch)", async () => {
    const db = await createTestDatabase("migrate_checksum");
    databases.push(db);
    await db.pool.query("UPDATE ingest.schema_migrations SET checksum = 'edited' WHERE version = 3");
    const error = await migrate(db.pool).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).code).toBe("ADP_WAREHOUSE_MIGRATION_CHECKSUM_MISMATCH");
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
