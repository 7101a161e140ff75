import type { BudgetPeriod } from "@adpipe/core";
import type { ServingClient } from "@adpipe/serving-client";
import type { PinoLogger } from "@adpipe/telemetry";
import type { Cluster, Redis } from "ioredis";
import type { Pool } from "pg";
import type { Registry } from "prom-client";
import type { AccessPolicy } from "./auth.js";
import type { EventPublisher, PauseControl, PipelineHealthSource } from "./ports.js";

export interface ApiLimits {
  /** Largest request body, bytes (the click batch route); other routes accept at most 16 KiB. */
  readonly bodyLimitBytes: number;
  readonly maxClicksPerRequest: number;
  readonly maxBatchIds: number;
  /** Write requests per minute per caller (token identity); 0 = no limit. */
  readonly writeRateLimitPerMinute: number;
  /** Open serving-change streams per caller (token identity, or client address when anonymous). */
  readonly maxStreamsPerCaller: number;
}

/** Everything a route needs; built once by main.ts (or a test) and shared by all requests. */
export interface ApiDeps extends AccessPolicy {
  /** Fastify logs through it, so a pino logger (createLogger's). */
  readonly logger: PinoLogger;
  readonly registry: Registry;
  /** Command connection for lookups and readiness. */
  readonly redis: Redis | Cluster;
  /** The budget-tracker's key prefix (REDIS_KEY_PREFIX): its changes channel is `<prefix>serving-changes`. */
  readonly redisKeyPrefix: string;
  readonly serving: ServingClient;
  /** Postgres as the API role: Gold views (read) and the budget audit (insert/select). */
  readonly pool: Pool;
  readonly publisher: EventPublisher;
  readonly pauses: PauseControl;
  readonly pipelineHealth: PipelineHealthSource;
  readonly serveWhenUnknown: boolean;
  /** The pipeline-wide budget period (BUDGET_PERIOD, same as the tracker's and the warehouse's). */
  readonly budgetPeriod: BudgetPeriod;
  readonly limits: ApiLimits;
  readonly dashboardRefreshMs: number;
  /** Directory with the built dashboard (index.html, app.js, app.css). */
  readonly dashboardDir: URL;
  /** Wall clock; tests inject one. */
  readonly clock?: () => number;
}
