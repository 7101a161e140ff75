import { createPool, migrate } from "@adpipe/warehouse";
import pg from "pg";
import { uniqueIdentifier } from "./names.js";
import { testServices } from "./services.js";

export interface TestSchema {
  /** The schema's name ([a-z0-9_], safe to interpolate, but prefer pg.escapeIdentifier). */
  schema: string;
  databaseUrl: string;
  /** A connected client whose search_path is the schema (ended by drop()). */
  client: pg.Client;
  /** Drops the schema with everything in it and ends the client. Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates a Postgres schema with a unique name, so test files can run in parallel on one database. */
export async function createTestSchema(prefix: string): Promise<TestSchema> {
  const { databaseUrl } = testServices();
  const schema = uniqueIdentifier(prefix);
  const quoted = pg.escapeIdentifier(schema);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  await client.query(`CREATE SCHEMA ${quoted}`);
  await client.query(`SET search_path TO ${quoted}`);
  let dropped = false;
  return {
    schema,
    databaseUrl,
    client,
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  /** Ends the pool and drops the database (with any connection still open to it). Safe to call twice. */
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({
    connectionString: testServices().databaseUrl,
    connectionTimeoutMillis: 5_000,
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own (`adpipe_t_<prefix>_<unique>`), migrated with the warehouse migrator unless told
 * otherwise. The warehouse's schema names (bronze, silver, gold, ingest) are fixed, so test files isolate
 * themselves by database rather than by schema.
 */
export async function createTestDatabase(
  prefix: string,
  options: { migrate?: boolean; poolMax?: number } = {},
): Promise<TestDatabase> {
  const name = uniqueIdentifier(`adpipe_t_${prefix}`);
  await asAdmin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(testServices().databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool({
    connectionString: url.toString(),
    max: options.poolMax ?? 6,
    applicationName: `adpipe-test-${prefix}`,
  });
  if (options.migrate ?? true) await migrate(pool);
  let dropped = false;
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      await asAdmin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}
