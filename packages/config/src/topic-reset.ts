import { DEFAULT_RESET_POLICY, RESET_POLICIES } from "@adpipe/core";
import { z } from "zod";
import { envVar } from "./env.js";

/**
 * What the Kafka consumers (ingestor, budget-tracker) and the lake export do about a topic reset (a topic
 * deleted and recreated under them; see docs/operations.md). One schema, read by every service.
 */
export const topicResetEnvSchema = z.object({
  /**
   * fail (default): stop consuming the topic, answer /readyz 503, log an ERROR and wait for
   * `adpipe offsets reset`. earliest: reset this service's positions to the new log's start itself (audited).
   */
  RESET_POLICY: z.enum(RESET_POLICIES).default(DEFAULT_RESET_POLICY),
  /**
   * How often a service compares its stored positions with the log's bounds and looks for a reset applied by
   * `adpipe offsets reset` (besides every group join and every fetch).
   */
  TOPIC_CHECK_INTERVAL_MS: envVar.integer(500, 3_600_000).default(10_000),
});
export type TopicResetEnv = z.output<typeof topicResetEnvSchema>;
