import { spendStoreEnvSchema } from "@adpipe/spend-store";
import { DEFAULT_PIPELINE } from "@adpipe/warehouse";
import { z } from "zod";

/**
 * The spend store's settings plus where the warehouse keeps the ingestor's offsets: what the budget-tracker and
 * the CLI (`rebuild-redis`, `reconcile`) read to rebuild and reconcile the same state the same way.
 */
export const storeSyncEnvSchema = spendStoreEnvSchema.extend({
  /** The ingestor's consumer group, under which the warehouse stores its offsets (rebuild, reconcile). */
  WAREHOUSE_PIPELINE: z.string().min(1).max(255).default(DEFAULT_PIPELINE),
});
export type StoreSyncEnv = z.output<typeof storeSyncEnvSchema>;
