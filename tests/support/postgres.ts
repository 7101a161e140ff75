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
