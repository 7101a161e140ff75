import { loadMigrations, migrate } from "@adpipe/warehouse";
import type { Command } from "commander";
import { withWarehouse } from "./warehouse-support.js";

/** `adpipe migrate`: applies pending Postgres migrations (the seed's provision_tables notebook). */
export function register(program: Command): void {
  program
    .command("migrate")
    .description("Apply pending Postgres migrations (schemas, tables, views, roles); safe while services run")
    .option("--status", "list applied and pending migrations, apply nothing")
    .action(async (options: { status?: boolean }) => {
      await withWarehouse(async (pool) => {
        if (options.status === true) {
          const applied = await pool
            .query<{ version: number; applied_at: Date }>(
              "SELECT version, applied_at FROM ingest.schema_migrations ORDER BY version",
            )
            .then((result) => new Map(result.rows.map((row) => [row.version, row.applied_at])))
            .catch(() => new Map<number, Date>());
          for (const migration of loadMigrations()) {
            const at = applied.get(migration.version);
            console.log(`${migration.file}\t${at === undefined ? "pending" : `applied ${at.toISOString()}`}`);
          }
          return;
        }
        const result = await migrate(pool, {
          logger: {
            info: (fields, message) => {
              if (message === "migration applied") console.log(`applied ${JSON.stringify(fields)}`);
            },
            warn: (fields, message) => console.error(`warning: ${message ?? ""} ${JSON.stringify(fields)}`),
            error: (fields, message) => console.error(`error: ${message ?? ""} ${JSON.stringify(fields)}`),
            debug: () => undefined,
          },
        });
        console.log(
          result.applied.length === 0
            ? `database is up to date (version ${result.current})`
            : `applied ${result.applied.length} migration(s); database is at version ${result.current}`,
        );
      });
    });
}
