import type { Logger, ReadinessCheck, ResourceStack } from "@adpipe/telemetry";
import type pg from "pg";
import { migrate } from "./migrate.js";
import { createPool, type PoolOptions } from "./pool.js";

export interface ServicePoolOptions extends PoolOptions {
  /** Apply the warehouse's migrations before the pool is handed out (MIGRATE_ON_START). */
  migrateOnStart: boolean;
  /** Where migrate() reports what it applied. */
  logger?: Logger;
}

/**
 * A service's Postgres pool: ended when the service's resources are released (also when the start fails after
 * this point, e.g. in the migration), migrated first when the service is configured to.
 */
export async function openServicePool(
  resources: ResourceStack,
  options: ServicePoolOptions,
): Promise<pg.Pool> {
  const { migrateOnStart, logger, ...poolOptions } = options;
  const pool = createPool(poolOptions);
  resources.defer("postgres", () => pool.end());
  if (migrateOnStart) await migrate(pool, logger === undefined ? {} : { logger });
  return pool;
}

/** The ops endpoint's readiness check of a pool: one round trip to Postgres. */
export function postgresReadiness(pool: pg.Pool): ReadinessCheck {
  return async () => {
    await pool.query("SELECT 1");
  };
}
