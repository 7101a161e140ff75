import { z } from "zod";
import { envVar } from "./env.js";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** DATABASE_URL: a postgres:// URL (default postgres://postgres@127.0.0.1:5432/test). */
export const postgresEnvSchema = z.object({
  DATABASE_URL: envVar.url(["postgres:", "postgresql:"]).default(DEFAULT_DATABASE_URL),
});
export type PostgresEnv = z.output<typeof postgresEnvSchema>;

/** REDIS_URL: a redis:// or rediss:// URL (default redis://127.0.0.1:6379). */
export const redisEnvSchema = z.object({
  REDIS_URL: envVar.url(["redis:", "rediss:"]).default(DEFAULT_REDIS_URL),
});
export type RedisEnv = z.output<typeof redisEnvSchema>;
