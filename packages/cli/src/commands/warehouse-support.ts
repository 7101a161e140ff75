import { ConfigError, loadEnv, postgresEnvSchema, redactUrl } from "@adpipe/config";
import {
  createPool,
  isWarehouseError,
  type WarehouseRules,
  warehouseRulesEnvSchema,
  warehouseRulesFromEnv,
} from "@adpipe/warehouse";
import { InvalidArgumentError } from "commander";
import type pg from "pg";
import { EXIT } from "../exit-codes.js";

/** An error that carries the exit code main.ts reports. */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CommandFailure";
  }
}

/** commander argument parser for an ISO-8601 instant (a zone is required: an operator's local time is ambiguous). */
export function parseInstant(value: string): number {
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim())) {
    throw new InvalidArgumentError("expected an ISO-8601 time with a zone, e.g. 2026-11-25T00:00:00Z");
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError("not a valid ISO-8601 time");
  return ms;
}

export function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

/** Opens a pool on DATABASE_URL for one command, maps its failures to exit codes, always closes the pool. */
export async function withWarehouse<T>(
  work: (pool: pg.Pool, context: { databaseUrl: string }) => Promise<T>,
): Promise<T> {
  let databaseUrl: string;
  try {
    databaseUrl = loadEnv(postgresEnvSchema).DATABASE_URL;
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
  const pool = createPool({ connectionString: databaseUrl, max: 2, applicationName: "adpipe-cli" });
  try {
    await pool.query("SELECT 1").catch((error: unknown) => {
      throw new CommandFailure(
        `Postgres at ${redactUrl(databaseUrl)} is unavailable: ${error instanceof Error ? error.message : String(error)}`,
        EXIT.unavailable,
        { cause: error },
      );
    });
    return await work(pool, { databaseUrl });
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    if (isWarehouseError(error)) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
      const code = error.code === "ADP_WAREHOUSE_RANGE_INVALID" ? EXIT.usage : EXIT.failed;
      throw new CommandFailure(`${error.message}${cause}`, code, { cause: error });
    }
    throw error;
  } finally {
    await pool.end();
  }
}

/** The parse limits and budget rules from the environment (the same variables the ingestor reads). */
export function rulesFromEnv(): WarehouseRules & { retentionDays: number; dedupHorizonDays: number } {
  try {
    const env = loadEnv(warehouseRulesEnvSchema);
    return {
      ...warehouseRulesFromEnv(env),
      retentionDays: env.WAREHOUSE_RETENTION_DAYS,
      dedupHorizonDays: env.CLICK_DEDUP_HORIZON_DAYS,
    };
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
}
