import {
  ALERT_KINDS,
  BUDGET_PERIODS,
  FIELD_MAX_LENGTH,
  hasBadIdChars,
  MAX_ADVERTISER_ID_LENGTH,
} from "@adpipe/core";
import {
  BUDGET_MODES,
  BUDGET_SOURCES,
  MAX_RESERVATION_TTL_MS,
  NOT_SERVING_REASONS,
  PACING_MODES,
  RESERVATION_REFUSALS,
} from "@adpipe/serving-client";
import { z } from "zod";

/**
 * Route schemas: they validate requests (400 with the issues) and are the source of /openapi.json.
 * Names are snake_case like the Redis contract and the Gold views.
 */

const NO_CONTROL_CHARACTERS = "must not contain control characters or lone surrogates";

/**
 * The event contract's id rule (@adpipe/core idProblem): 1..128 characters without control characters or lone
 * surrogates; braces, `%`, `/` and the rest are fine (the Redis keys encode them inside the hash tag). Click
 * ingestion, lookups, budget routes and the Redis keys accept exactly this set.
 */
export const advertiserIdSchema = z
  .string()
  .min(1)
  .max(MAX_ADVERTISER_ID_LENGTH)
  .refine((id) => !hasBadIdChars(id), NO_CONTROL_CHARACTERS)
  .describe("advertiser_id, the budget key: 1-128 characters, no control characters");

/** A one-line text field (display names, sources): the contract's rule for names. */
export function singleLineTextSchema(maxLength: number) {
  return z
    .string()
    .min(1)
    .max(maxLength)
    .refine((text) => !hasBadIdChars(text), NO_CONTROL_CHARACTERS);
}

/** Free text that may span lines (notes): tabs and line breaks allowed; NUL, other controls, lone surrogates not. */
export function multiLineTextSchema(maxLength: number) {
  return z
    .string()
    .max(maxLength)
    .refine(
      (text) => !hasBadIdChars(text.replace(/[\t\n\r]/g, " ")),
      "must not contain NUL, control characters other than tab and line breaks, or lone surrogates",
    );
}

export const advertiserParamsSchema = z.object({ id: advertiserIdSchema });

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe("machine-readable code, e.g. bad_request, unauthorized, rate_limited"),
      message: z.string(),
      request_id: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .describe("Every non-2xx answer has this shape; 429 and 503 also send Retry-After.");

export const servingReasonSchema = z
  .enum([...NOT_SERVING_REASONS, "unknown_advertiser"])
  .nullable()
  .describe("why the advertiser is not served; null while serving");

export const budgetSourceSchema = z
  .enum(BUDGET_SOURCES)
  .nullable()
  .describe(
    "where the budget in force came from: api (PUT /v1/advertisers/{id}/budget), budget_update (a budget_update event from another producer) or click (budget_value carried on clicks, in force only while the advertiser has no explicit budget); null without a budget",
  );

export const budgetModeSchema = z
  .enum(BUDGET_MODES)
  .describe(
    "observe (the default): every valid click is billed, the budget decides can_serve only; hard_cap: billing stops at the budget, the rest is over_cap (docs/core.md, budget modes)",
  );

export const pacingSchema = z
  .enum(PACING_MODES)
  .describe(
    "asap (the default): serve while budget is left; even: spend follows budget x elapsed fraction of the period plus a tolerance; shaped: the advertiser's hourly traffic shape of the last 7 days (docs/realtime.md, pacing)",
  );

export const servingStateSchema = z.object({
  advertiser_id: z.string(),
  known: z.boolean().describe("false when the tracker has no state for this advertiser"),
  can_serve: z.boolean(),
  reason: servingReasonSchema,
  period: z.string().nullable().describe("budget period id, e.g. 2026-11-25 for a daily budget"),
  net_micros: z.number().int().nullable(),
  gross_micros: z.number().int().nullable(),
  budget_micros: z.number().int().nullable(),
  budget_source: budgetSourceSchema,
  mode: budgetModeSchema
    .nullable()
    .describe("the budget mode in force (observe when none was ever set); null for an unknown advertiser"),
  over_cap_micros: z
    .number()
    .int()
    .nullable()
    .describe(
      "spend of the period beyond a hard_cap budget: not billed, not in net_micros; null when unknown",
    ),
  forecast_exhausted_at: z
    .string()
    .nullable()
    .describe(
      "ISO time at which the period's net is forecast to reach the budget (docs/realtime.md, forecasts); null when not forecast within the period, without a budget or spend, or unknown",
    ),
  forecast_period_spend_micros: z
    .number()
    .int()
    .nullable()
    .describe(
      "forecast net at the end of the period (micros); null for lifetime periods, before the tracker's first forecast refresh, or unknown",
    ),
  budget_period: z
    .string()
    .nullable()
    .describe(
      "the period the advertiser's budget spans (hour, day, month, lifetime): its own, else BUDGET_PERIOD; null when unknown",
    ),
  time_zone: z
    .string()
    .nullable()
    .describe(
      "the IANA time zone `period` follows: the advertiser's own, else BUDGET_TIME_ZONE; null when unknown",
    ),
  pacing: pacingSchema
    .nullable()
    .describe("the pacing in force (asap when none was ever set); null when unknown"),
  serve_fraction: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe(
      "share of requests to serve for ad servers that throttle probabilistically: 1 on or below the pacing target, falling linearly to 0 across the tolerance; 0 when can_serve is false; null when unknown",
    ),
  traffic_shape: z
    .array(z.number().int().min(0))
    .length(24)
    .nullable()
    .describe(
      "shaped pacing only: the traffic shape the tracker learnt from Gold's last 7 days, 24 weights (one per hour since the period's local day start) that the target curve follows (docs/realtime.md, traffic shapes); null when the pacing is not shaped, without enough history (it then paces even) or unknown",
    ),
  clicks: z.number().int().nullable(),
  updated_at: z.string().nullable().describe("ISO time of the tracker's last write"),
});
export type ServingStateBody = z.output<typeof servingStateSchema>;

export const servingBatchBodySchema = z.object({
  ids: z.array(advertiserIdSchema).min(1),
});

export const reservationIdSchema = z
  .string()
  .min(1)
  .max(MAX_ADVERTISER_ID_LENGTH)
  .refine((id) => !hasBadIdChars(id), NO_CONTROL_CHARACTERS)
  .describe("the id the click will carry as reservation_id (default: its click_id): 1-128 characters");

export function reserveBodySchema(maxItems: number) {
  return z.object({
    reservations: z
      .array(
        z.object({
          advertiser_id: advertiserIdSchema,
          reservation_id: reservationIdSchema,
          max_cost_micros: z
            .number()
            .int()
            .positive()
            .max(Number.MAX_SAFE_INTEGER)
            .describe("the most the click can cost, integer micro-units"),
          ttl_ms: z
            .number()
            .int()
            .min(1)
            .max(MAX_RESERVATION_TTL_MS)
            .describe("the click reaches the pipeline within this long, or the reservation expires"),
        }),
      )
      .min(1)
      .max(maxItems),
  });
}

export const reserveResponseSchema = z.object({
  results: z.array(
    z.object({
      advertiser_id: z.string(),
      reservation_id: z.string(),
      granted: z.boolean(),
      reason: z.enum(RESERVATION_REFUSALS).nullable().describe("null when granted"),
      remaining_micros: z
        .number()
        .int()
        .nullable()
        .describe("budget left for further reservations; null without a budget"),
    }),
  ),
});

export function releaseBodySchema(maxItems: number) {
  return z.object({
    reservations: z
      .array(z.object({ advertiser_id: advertiserIdSchema, reservation_id: reservationIdSchema }))
      .min(1)
      .max(maxItems),
  });
}

export const releaseResponseSchema = z.object({
  results: z.array(
    z.object({ advertiser_id: z.string(), reservation_id: z.string(), released: z.boolean() }),
  ),
});

export const servingBatchQuerySchema = z.object({
  ids: z.string().min(1).describe("comma-separated advertiser ids"),
});

export const servingBatchResponseSchema = z.object({ results: z.array(servingStateSchema) });

export const budgetPeriodSchema = z.enum(BUDGET_PERIODS);

export const budgetPutBodySchema = z
  .object({
    // Required with a mode change too: a budget_update always carries its budget, and the API does not restate
    // one read back from the tracker, which may not have applied a change still on its way.
    amount: z
      .union([z.string().max(64), z.number()], {
        error: (issue) =>
          issue.input === undefined
            ? "amount is required, also to change only the mode: send the budget in force with the new mode"
            : undefined,
      })
      .describe(
        'decimal amount in currency units, e.g. "250.50" (a string keeps it exact) or 250.5; required with every change, a mode change too',
      ),
    mode: budgetModeSchema
      .optional()
      .describe("budget mode to set (published as budget_mode); omitted: the mode in force stays as it is"),
    budget_period: budgetPeriodSchema
      .optional()
      .describe(
        "the advertiser's budget period to set (published as budget_period); omitted: the period in force stays (BUDGET_PERIOD for advertisers that never set one)",
      ),
    time_zone: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        "the IANA time zone of the advertiser's periods to set, e.g. America/New_York (published as time_zone); omitted: the zone in force stays (BUDGET_TIME_ZONE for advertisers that never set one)",
      ),
    pacing: pacingSchema
      .optional()
      .describe("pacing to set (published as pacing); omitted: the pacing in force stays"),
    period: budgetPeriodSchema
      .optional()
      .describe(
        "legacy check: must equal budget_period when both are given, else the pipeline-wide BUDGET_PERIOD",
      ),
    advertiser: singleLineTextSchema(FIELD_MAX_LENGTH.advertiser)
      .optional()
      .describe("display name; defaults to the id"),
    source: singleLineTextSchema(64).optional().describe("who or what asked, e.g. web-app; default api"),
  })
  .strict();

/** Old and new budget period and time zone of a budget change: in its response and in its audit entry. */
const calendarChangeFields = {
  old_budget_period: budgetPeriodSchema
    .nullable()
    .describe("the tracker's budget period when the change was asked; null when unknown"),
  new_budget_period: budgetPeriodSchema
    .nullable()
    .describe("the budget period set by this change; null when it set none (the period in force stayed)"),
  old_time_zone: z
    .string()
    .nullable()
    .describe("the tracker's IANA time zone when the change was asked; null when unknown"),
  new_time_zone: z
    .string()
    .nullable()
    .describe("the IANA time zone set by this change; null when it set none (the zone in force stayed)"),
};

export const budgetChangeResponseSchema = z.object({
  advertiser_id: z.string(),
  event_id: z.string().describe("click_id of the budget_update event on the topic"),
  old_budget_micros: z.number().int().nullable(),
  old_budget_source: budgetSourceSchema,
  new_budget_micros: z.number().int(),
  old_mode: budgetModeSchema
    .nullable()
    .describe("the tracker's mode when the change was asked; null when unknown"),
  new_mode: budgetModeSchema
    .nullable()
    .describe("the mode set by this change; null when the request set none"),
  ...calendarChangeFields,
  old_pacing: pacingSchema
    .nullable()
    .describe("the tracker's pacing when the change was asked; null when unknown"),
  new_pacing: pacingSchema
    .nullable()
    .describe("the pacing set by this change; null when the request set none"),
  budget_source: z
    .literal("api")
    .describe("the new budget's source: explicit, so budget_value on later clicks does not override it"),
  amount: z.string(),
  period: budgetPeriodSchema,
  audit_id: z.string(),
});

export const pauseBodySchema = z
  .object({
    source: singleLineTextSchema(64).optional(),
    note: multiLineTextSchema(500).optional(),
  })
  .strict()
  // No body at all arrives as null.
  .nullish();

export const pauseResponseSchema = z.object({
  advertiser_id: z.string(),
  paused: z.boolean(),
  audit_id: z.string(),
  serving: servingStateSchema,
});

export const auditEntrySchema = z.object({
  id: z.string(),
  advertiser_id: z.string(),
  action: z.enum(["set_budget", "pause", "resume"]),
  old_budget_micros: z.number().int().nullable(),
  new_budget_micros: z.number().int().nullable(),
  old_mode: budgetModeSchema
    .nullable()
    .describe("the tracker's mode when the change was asked; null when unknown"),
  new_mode: budgetModeSchema
    .nullable()
    .describe("the mode this budget change set; null when it set none (the mode stayed) and on pause/resume"),
  ...calendarChangeFields,
  old_pacing: pacingSchema
    .nullable()
    .describe("the tracker's pacing when the change was asked; null when unknown"),
  new_pacing: pacingSchema
    .nullable()
    .describe(
      "the pacing this budget change set; null when it set none (the pacing stayed) and on pause/resume",
    ),
  period: z.string().nullable(),
  actor: z.string(),
  source: z.string(),
  event_id: z.string().nullable(),
  note: z.string().nullable(),
  created_at: z.string(),
});
export type AuditEntryBody = z.output<typeof auditEntrySchema>;

export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before_id: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .describe("keyset cursor: entries older than this id (next_before_id of the previous page)"),
});

export const auditResponseSchema = z.object({
  items: z.array(auditEntrySchema),
  next_before_id: z.string().nullable(),
});

export const clickItemErrorSchema = z.object({
  index: z.number().int(),
  click_id: z.string().nullable(),
  errors: z.array(z.string()),
});

export const clicksResponseSchema = z.object({
  accepted: z.array(z.string()).describe("click_ids produced to the topic"),
  rejected: z.array(clickItemErrorSchema),
});

/** The page fields of every list answer (reports, advertisers). */
export const pageFields = {
  limit: z.number().int(),
  offset: z.number().int(),
  next_offset: z.number().int().nullable().describe("offset of the next page; null on the last page"),
};

export const advertiserSummarySchema = z.object({
  advertiser_id: z.string(),
  advertiser: z.string().describe("display name, as the views' advertiser column shows it"),
  first_hour: z.string().describe("first Gold hour (ISO)"),
  latest_hour: z.string().describe("latest Gold hour (ISO)"),
});

export const pipelineHealthSchema = z.object({
  topic: z.string(),
  events_per_second: z.number().nullable(),
  total_records: z.number().nullable(),
  consumer_groups: z.array(z.object({ group: z.string(), lag: z.number().nullable() })),
  gold_freshness_seconds: z
    .number()
    .nullable()
    .describe("now minus the newest Gold event time not dated in the future (never negative)"),
  gold_latest_event_at: z.string().nullable(),
  gold_future_events: z
    .object({
      rows: z.number(),
      advertisers: z.number(),
      latest_event_at: z.string(),
      ahead_seconds: z.number(),
      warning: z.boolean().describe("more than 5 s ahead: beyond ordinary clock skew"),
    })
    .nullable()
    .describe(
      "Gold rows whose newest event is dated after now (a producer's wrong clock), apart from freshness",
    ),
  /** Partitions a service found reset (topic deleted and recreated): consumption stopped; red on the dashboard. */
  topic_resets: z.array(
    z.object({
      service: z.string(),
      consumer: z.string(),
      partition: z.number(),
      stored_offset: z.string().nullable(),
      log_end_offset: z.string().nullable(),
      reason: z.string(),
      detected_at: z.string(),
    }),
  ),
  sampled_at: z.string(),
  errors: z.array(z.string()),
});

export const dashboardConfigSchema = z.object({
  refresh_ms: z.number().int(),
  read_token_required: z.boolean(),
});

export const deliverySchema = z.object({
  channel: z.enum(["kafka", "webhook"]),
  state: z.enum(["pending", "delivered", "dead"]),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
});

/** One fired alert: the fields of the alert event (docs/alerts.md) plus its deliveries' state. */
export const alertItemSchema = z.object({
  event_id: z.string(),
  kind: z.enum(ALERT_KINDS),
  advertiser_id: z.string(),
  advertiser: z.string().nullable(),
  budget_period: z.string(),
  period_start: z.string(),
  period_end: z.string(),
  threshold_pct: z.number().int(),
  period_net_micros: z.string(),
  budget_micros: z.string(),
  fired_at: z.string(),
  deliveries: z.array(deliverySchema),
});
