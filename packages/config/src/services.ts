import { z } from "zod";
import { envVar } from "./env.js";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/** DATABASE_URL: a postgres:// URL (default postgres://postgres@127.0.0.1:5432/test). */
export const postgresEnvSchema = z.object({
  DATABASE_URL: envVar.url(["postgres:", "postgresql:"]).default(DEFAULT_DATABASE_URL),
});
export type PostgresEnv = z.output<typeof postgresEnvSchema>;
