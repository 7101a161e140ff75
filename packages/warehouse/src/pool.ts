import pg from "pg";

export interface PoolOptions {
  /** postgres:// URL (secret: never log it, use redact from @adpipe/config). */
  connectionString: string;
  /** Pool size. The ingestor needs 1 per concurrent batch plus 1 for readiness checks. Default 4. */
  max?: number;
  applicationName?: string;
  /** statement_timeout for every statement, ms (0 = none). Default 0. */
  statementTimeoutMs?: number;
}

/** A pg Pool with the settings the warehouse relies on (UTC session time zone, application name). */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 4,
    application_name: options.applicationName ?? "adpipe",
    statement_timeout: options.statementTimeoutMs ?? 0,
    // A broken server connection must surface as an error, not hang the batch forever.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    options: "-c TimeZone=UTC",
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on("error", () => undefined);
  // Nor a checked-out one (pool.connect()): pg-pool listens for errors only on idle clients, so a connection
  // reset while a batch holds its client (Postgres restarted, a network cut mid-transaction) would be an
  // unhandled 'error' event that kills the ingestor. The query in flight still rejects, and release() drops
  // the dead client from the pool.
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
  });
  return pool;
}

/** Epoch ms as a value pg sends as timestamptz (ISO-8601 UTC keeps full millisecond precision). */
export function toTimestamptz(ms: number): string {
  return new Date(ms).toISOString();
}
