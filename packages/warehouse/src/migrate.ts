import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { headerFields } from "@adpipe/sql";
import { type Logger, silentLogger } from "@adpipe/telemetry";
import type { Pool, PoolClient } from "pg";
import { WarehouseError } from "./errors.js";
import { listMigrationFiles, readMigrationFile } from "./migration-files.js";

/** One versioned migration file `sql/migrations/NNNN_name.sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  /** sha256 of the file (LF line endings): an applied migration must never change. */
  readonly checksum: string;
}

export interface MigrateOptions {
  logger?: Logger;
  /** How long to wait for another replica's migration to finish. Default 120 s. */
  lockTimeoutMs?: number;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the database was up to date). */
  readonly applied: number[];
  /** The newest version now in the database. */
  readonly current: number;
}

/**
 * The advisory lock key that serialises migrations. Advisory locks are per database, so separate test
 * databases do not wait on each other. (0x61647069 = "adpi", any constant works.)
 */
export const MIGRATION_LOCK_KEY = 0x61647069;

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads and checks every migration: contiguous versions, header `version`/`previous` consistent with the file name. */
export function loadMigrations(): Migration[] {
  const migrations: Migration[] = [];
  for (const file of listMigrationFiles()) {
    const match = FILE_PATTERN.exec(file);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new WarehouseError("migration_invalid", `sql/migrations/${file}: expected NNNN_name.sql`);
    }
    const version = Number(match[1]);
    const sql = readMigrationFile(file);
    const header = headerFields(sql);
    const expectedPrevious = migrations.at(-1)?.version;
    const previous = header.get("previous");
    if (header.get("version") !== match[1]) {
      throw new WarehouseError(
        "migration_invalid",
        `sql/migrations/${file}: header "-- version: ${match[1]}" missing`,
      );
    }
    if (
      expectedPrevious === undefined
        ? previous !== "none"
        : previous !== String(expectedPrevious).padStart(4, "0")
    ) {
      throw new WarehouseError(
        "migration_invalid",
        `sql/migrations/${file}: header previous is ${previous ?? "missing"}, expected ${expectedPrevious ?? "none"}`,
      );
    }
    if (version !== (expectedPrevious ?? 0) + 1) {
      throw new WarehouseError("migration_invalid", `sql/migrations/${file}: versions must be contiguous`);
    }
    migrations.push({
      version,
      name: match[2],
      file,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  return migrations;
}

async function acquireLock(client: PoolClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
      MIGRATION_LOCK_KEY,
    ]);
    if (rows[0]?.locked === true) return;
    if (Date.now() > deadline) {
      throw new WarehouseError(
        "migration_lock_timeout",
        `another migration held the lock for over ${timeoutMs} ms`,
      );
    }
    await sleep(200);
  }
}

/**
 * Applies pending migrations, each in its own transaction together with its row in ingest.schema_migrations.
 * Holds a session advisory lock for the whole run, so concurrent replicas wait and then find nothing to do.
 * Refuses to run when an applied migration's file has changed (checksum mismatch).
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const logger = options.logger ?? silentLogger;
  const migrations = loadMigrations();
  const client = await pool.connect();
  let locked = false;
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 120_000);
    locked = true;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ingest;
      CREATE TABLE IF NOT EXISTS ingest.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        duration_ms integer NOT NULL
      )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      "SELECT version, name, checksum FROM ingest.schema_migrations ORDER BY version",
    );
    const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
    for (const row of rows) {
      const migration = byVersion.get(row.version);
      if (migration === undefined) {
        logger.warn(
          { version: row.version, name: row.name },
          "database has a migration this build does not know",
        );
        continue;
      }
      if (migration.checksum !== row.checksum) {
        throw new WarehouseError(
          "migration_checksum_mismatch",
          `migration ${migration.file} was edited after it was applied (checksum differs); add a new migration instead`,
        );
      }
    }
    const appliedVersions = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (appliedVersions.has(migration.version)) continue;
      const started = Date.now();
      try {
        await client.query("BEGIN");
        await client.query(migration.sql);
        await client.query(
          "INSERT INTO ingest.schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
          [migration.version, migration.name, migration.checksum, Date.now() - started],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new WarehouseError("migration_failed", `migration ${migration.file} failed`, { cause: error });
      }
      applied.push(migration.version);
      logger.info(
        { version: migration.version, name: migration.name, ms: Date.now() - started },
        "migration applied",
      );
    }
    const current = Math.max(0, ...rows.map((row) => row.version), ...applied);
    logger.info({ current, applied: applied.length }, "migrations up to date");
    return { applied, current };
  } finally {
    if (locked)
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
