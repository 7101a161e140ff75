import { randomBytes } from "node:crypto";
import { createPool, migrate } from "@adpipe/warehouse";
import pg from "pg";
import { testServices, uniqueIdentifier } from "../../support/index.js";
import { registerSecret } from "./secrets.js";

/**
 * A database of one scenario (migrated as the superuser of the test server) and a LOGIN role in
 * `adpipe_writer` with a password, which the services use as production does: least privilege, and a real
 * secret in DATABASE_URL for the log scan (the local server has trust auth, so the password is not checked).
 */
export interface ScenarioDatabase {
  readonly name: string;
  /** Superuser pool on the database, direct (never through a fault proxy): the suite's own reads. */
  readonly pool: pg.Pool;
  readonly loginRole: string;
  /** DATABASE_URL for the services; host/port of a proxy in between when given. */
  serviceUrl(via?: { host: string; port: number }): string;
  drop(): Promise<void>;
}

async function asSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: testServices().databaseUrl,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createScenarioDatabase(scenario: string): Promise<ScenarioDatabase> {
  const name = uniqueIdentifier(`adpipe_integrity_${scenario}`);
  const loginRole = uniqueIdentifier(`integrity_writer_${scenario}`);
  const password = registerSecret(
    `Postgres password of ${loginRole}`,
    `pw-${randomBytes(12).toString("hex")}`,
  );
  await asSuperuser((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const base = new URL(testServices().databaseUrl);
  const adminUrl = new URL(base);
  adminUrl.pathname = `/${name}`;
  const pool = createPool({
    connectionString: adminUrl.toString(),
    max: 4,
    applicationName: "adpipe-integrity",
  });
  await migrate(pool);
  await pool.query(
    `CREATE ROLE ${pg.escapeIdentifier(loginRole)} LOGIN PASSWORD ${pg.escapeLiteral(password)} IN ROLE adpipe_writer`,
  );
  let dropped = false;
  return {
    name,
    pool,
    loginRole,
    serviceUrl(via) {
      const url = new URL(base);
      url.pathname = `/${name}`;
      url.username = loginRole;
      url.password = password;
      if (via !== undefined) {
        url.hostname = via.host;
        url.port = String(via.port);
      }
      return registerSecret(`DATABASE_URL of ${loginRole}`, url.toString());
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      await asSuperuser(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(loginRole)}`);
      });
    },
  };
}

/** Next offset per partition the ingestor committed to Postgres (the warehouse path's progress). */
export async function ingestorProgress(
  pool: pg.Pool,
  group: string,
  topic: string,
): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ partition: number; next_offset: string }>(
    `SELECT "partition", next_offset::text FROM ingest.consumer_offsets WHERE pipeline = $1 AND topic = $2`,
    [group, topic],
  );
  return new Map(rows.map((row) => [row.partition, Number(row.next_offset)]));
}
