import { envVar, loadEnv, opsEnvSchema } from "@adpipe/config";
import { type LakeSettings, lakeEnvSchema, lakeSettingsFromEnv } from "@adpipe/lake";
import { z } from "zod";

/** Every environment variable the delta-exporter reads (the lake settings of @adpipe/lake included). */
export const deltaExporterEnvSchema = z.object({
  ...lakeEnvSchema.shape,
  /** continuous: export, wait DELTA_EXPORT_INTERVAL_MS, repeat until SIGTERM. once: one pass, then exit. */
  DELTA_EXPORT_MODE: z.enum(["continuous", "once"]).default("continuous"),
  /** Pause between passes in continuous mode (a pass runs until it has caught up with Postgres). */
  DELTA_EXPORT_INTERVAL_MS: envVar.integer(0, 86_400_000).default(60_000),
  /** Backoff after a failed pass (Postgres or storage unavailable), doubling up to 10 minutes. */
  DELTA_EXPORT_RETRY_MS: envVar.integer(100, 600_000).default(5_000),
  /** Apply pending warehouse migrations at start (the export's progress tables are migration 0010). */
  MIGRATE_ON_START: envVar.boolean().default(true),
  PG_POOL_MAX: envVar.integer(2, 50).default(3),
  ...opsEnvSchema(9105).shape,
});
export type DeltaExporterEnv = z.output<typeof deltaExporterEnvSchema>;

export interface DeltaExporterConfig {
  readonly env: DeltaExporterEnv;
  readonly lake: LakeSettings;
}

/** Loads and checks every setting; throws ConfigError naming each bad variable (never its value). */
export function loadDeltaExporterConfig(env: NodeJS.ProcessEnv = process.env): DeltaExporterConfig {
  const parsed = loadEnv(deltaExporterEnvSchema, env);
  return { env: parsed, lake: lakeSettingsFromEnv(parsed) };
}
