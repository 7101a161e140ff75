import { createPool, migrate } from "@adpipe/warehouse";
import pg from "pg";
import { testServices, uniqueIdentifier } from "../../../support/index.js";

export interface RealtimeDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  /** Ends the pool and drops the database (WITH FORCE). Safe to call twice. */
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

/** A database of its own, `adpipe_rt_<unique>`, with the warehouse migrations applied. */
export async function createRealtimeDatabase(): Promise<RealtimeDatabase> {
  const name = uniqueIdentifier("adpipe_rt");
  await asAdmin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(testServices().databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool({ connectionString: url.toString(), max: 3, applicationName: "adpipe-rt-test" });
  await migrate(pool);
  let dropped = false;
  return {
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
