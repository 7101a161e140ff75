import {
  advertiserParamsSchema,
  auditQuerySchema,
  auditResponseSchema,
  budgetChangeResponseSchema,
  budgetPutBodySchema,
  errorBodySchema,
  pauseBodySchema,
  pauseResponseSchema,
} from "@adpipe/api-contract";
import {
  BUDGET_PERIODS,
  type BudgetPeriod,
  formatMicros,
  parseEvent,
  parseExactMoneyToMicros,
} from "@adpipe/core";
import type { BudgetMode, BudgetSource, PacingMode } from "@adpipe/serving-client";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { insertAudit, inTransaction, listAudit } from "../audit.js";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { budgetUpdateEvent } from "../events.js";
import { writeRouteConfig } from "../route-config.js";
import { servingBody } from "../serving-body.js";

const TAG = ["budgets"];
const WRITE_SECURITY = [{ bearerAuth: [] }];
const DEFAULT_SOURCE = "api";

const writeErrors = {
  400: errorBodySchema,
  401: errorBodySchema,
  413: errorBodySchema,
  415: errorBodySchema,
  429: errorBodySchema,
  503: errorBodySchema,
};

/**
 * Budget changes go through the click topic as `budget_update` events, so the warehouse and the
 * tracker apply them in order with the clicks; the audit row is written in the same Postgres
 * transaction that is committed only after the broker acknowledged the event.
 */
interface CurrentBudget {
  readonly micros: number | null;
  readonly source: BudgetSource | null;
  readonly mode: BudgetMode | null;
  readonly budgetPeriod: BudgetPeriod | null;
  readonly timeZone: string | null;
  readonly pacing: PacingMode | null;
}

function asBudgetPeriod(value: string | null): BudgetPeriod | null {
  return (BUDGET_PERIODS as readonly (string | null)[]).includes(value) ? (value as BudgetPeriod) : null;
}

export function budgetRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const now = deps.clock ?? Date.now;

  /** Current budget, its source and the mode from the tracker's state, for the audit's "old" values; unknown → nulls. */
  const currentBudget = async (advertiserId: string): Promise<CurrentBudget> => {
    try {
      const state = (await deps.serving.getMany([advertiserId])).get(advertiserId);
      return {
        micros: state?.budgetMicros ?? null,
        source: state?.budgetSource ?? null,
        mode: state?.mode ?? null,
        budgetPeriod: asBudgetPeriod(state?.budgetPeriod ?? null),
        timeZone: state?.timeZone ?? null,
        pacing: state?.pacing ?? null,
      };
    } catch (error) {
      // The audit still records the change; only the old value is unknown while Redis is away.
      deps.logger.warn({ err: error, advertiserId }, "could not read the current budget from redis");
      return { micros: null, source: null, mode: null, budgetPeriod: null, timeZone: null, pacing: null };
    }
  };

  const setPaused = async (
    advertiserId: string,
    paused: boolean,
    actor: string,
    source: string,
    note: string | null,
    requestId: string,
  ) => {
    const current = await currentBudget(advertiserId);
    const budget = current.micros;
    const audit = await dependency(
      "postgres",
      () =>
        inTransaction(deps.pool, async (client) => {
          const row = await insertAudit(client, {
            advertiserId,
            action: paused ? "pause" : "resume",
            oldBudgetMicros: budget,
            newBudgetMicros: budget,
            oldMode: current.mode,
            newMode: null,
            oldBudgetPeriod: current.budgetPeriod,
            newBudgetPeriod: null,
            oldTimeZone: current.timeZone,
            newTimeZone: null,
            oldPacing: current.pacing,
            newPacing: null,
            period: null,
            actor,
            source,
            eventId: null,
            requestId,
            note,
          });
          await dependency("redis", () => deps.pauses.setPaused(advertiserId, paused));
          return row;
        }),
      { inputs: { source, note } },
    );
    const states = await dependency("redis", () => deps.serving.getMany([advertiserId]));
    return {
      advertiser_id: advertiserId,
      paused,
      audit_id: audit.id,
      serving: servingBody(advertiserId, states.get(advertiserId) ?? null, deps.serveWhenUnknown),
    };
  };

  return async (app) => {
    app.put(
      "/v1/advertisers/:id/budget",
      {
        config: writeRouteConfig(deps.limits),
        schema: {
          tags: TAG,
          summary:
            "Set an advertiser's budget and optionally its mode (publishes a budget_update event marked budget_source api, with budget_mode when mode is given, and audits it); explicit budgets outrank budget_value carried on clicks (docs/core.md, budget precedence)",
          security: WRITE_SECURITY,
          params: advertiserParamsSchema,
          body: budgetPutBodySchema,
          response: { 200: budgetChangeResponseSchema, ...writeErrors },
        },
      },
      async (request) => {
        const { id } = request.params;
        // Exact: an amount below the micro is refused (too_precise), as text and as a number, never rounded.
        const money = parseExactMoneyToMicros(request.body.amount);
        if (!money.ok) {
          throw new ApiError("bad_request", "amount is not a valid money amount", {
            details: [{ path: ["amount"], message: money.code }],
          });
        }
        if (money.micros < 0) {
          throw new ApiError("bad_request", "amount must not be negative", {
            details: [{ path: ["amount"], message: "negative" }],
          });
        }
        const budgetPeriod = request.body.budget_period;
        const expected = budgetPeriod ?? deps.budgetPeriod;
        if (request.body.period !== undefined && request.body.period !== expected) {
          throw new ApiError(
            "bad_request",
            budgetPeriod === undefined
              ? `period must equal the pipeline-wide BUDGET_PERIOD (${deps.budgetPeriod}); set budget_period to give the advertiser its own`
              : "period and budget_period differ: send budget_period only",
            { details: [{ path: ["period"], message: "period_mismatch" }] },
          );
        }
        const atMs = now();
        const mode = request.body.mode;
        const pacing = request.body.pacing;
        const event = budgetUpdateEvent({
          advertiserId: id,
          advertiser: request.body.advertiser ?? id,
          budgetMicros: money.micros,
          budgetMode: mode,
          budgetPeriod,
          timeZone: request.body.time_zone,
          pacing,
          atMs,
        });
        // The event is judged by the same contract the pipelines apply, against the record timestamp. The schemas
        // already hold the id, the name and the mode to the contract's rule: what is left is the amount.
        const parsed = parseEvent(event.json, { referenceTimeMs: atMs });
        if (parsed.ok && parsed.errors.includes("time_zone_invalid")) {
          throw new ApiError("bad_request", `time_zone is not an IANA time zone: ${request.body.time_zone}`, {
            details: [{ path: ["time_zone"], message: "time_zone_invalid" }],
          });
        }
        if (
          !parsed.ok ||
          !parsed.isValid ||
          parsed.budgetMicros !== money.micros ||
          parsed.budgetSource !== "api" ||
          parsed.budgetMode !== mode ||
          parsed.pacing !== pacing
        ) {
          const errors = parsed.ok ? parsed.errors : [parsed.reason];
          throw new ApiError("bad_request", "the budget is outside what the event contract accepts", {
            details: [{ path: ["amount"], message: errors.join(",") || "not exact" }],
          });
        }
        const oldBudget = await currentBudget(id);
        const newTimeZone = parsed.timeZone ?? null;
        // The period in force after the change, as the audit and the answer report it.
        const period = budgetPeriod ?? oldBudget.budgetPeriod ?? deps.budgetPeriod;
        const { advertiser, source } = request.body;
        const audit = await dependency(
          "postgres",
          () =>
            inTransaction(deps.pool, async (client) => {
              const row = await insertAudit(client, {
                advertiserId: id,
                action: "set_budget",
                oldBudgetMicros: oldBudget.micros,
                newBudgetMicros: money.micros,
                oldMode: oldBudget.mode,
                newMode: mode ?? null,
                oldBudgetPeriod: oldBudget.budgetPeriod,
                newBudgetPeriod: budgetPeriod ?? null,
                oldTimeZone: oldBudget.timeZone,
                newTimeZone,
                oldPacing: oldBudget.pacing,
                newPacing: pacing ?? null,
                period,
                actor: request.identity ?? "anonymous",
                source: request.body.source ?? DEFAULT_SOURCE,
                eventId: event.eventId,
                requestId: request.id,
                note: null,
              });
              await dependency("kafka", () =>
                deps.publisher.publish([{ key: id, value: event.json, timestampMs: atMs }]),
              );
              return row;
            }),
          { inputs: { advertiser, source } },
        );
        return {
          advertiser_id: id,
          event_id: event.eventId,
          old_budget_micros: oldBudget.micros,
          old_budget_source: oldBudget.source,
          new_budget_micros: money.micros,
          old_mode: oldBudget.mode,
          new_mode: mode ?? null,
          old_budget_period: oldBudget.budgetPeriod,
          new_budget_period: budgetPeriod ?? null,
          old_time_zone: oldBudget.timeZone,
          new_time_zone: newTimeZone,
          old_pacing: oldBudget.pacing,
          new_pacing: pacing ?? null,
          budget_source: "api" as const,
          amount: formatMicros(money.micros),
          period,
          audit_id: audit.id,
        };
      },
    );

    for (const action of ["pause", "resume"] as const) {
      app.post(
        `/v1/advertisers/:id/${action}`,
        {
          config: writeRouteConfig(deps.limits),
          schema: {
            tags: TAG,
            summary:
              action === "pause"
                ? "Force serving off (reason paused) until resumed"
                : "Lift a pause: the tracker's budget rule decides again",
            security: WRITE_SECURITY,
            params: advertiserParamsSchema,
            body: pauseBodySchema,
            response: { 200: pauseResponseSchema, ...writeErrors },
          },
        },
        async (request) =>
          setPaused(
            request.params.id,
            action === "pause",
            request.identity ?? "anonymous",
            request.body?.source ?? DEFAULT_SOURCE,
            request.body?.note ?? null,
            request.id,
          ),
      );
    }

    app.get(
      "/v1/advertisers/:id/budget/audit",
      {
        schema: {
          tags: TAG,
          summary: "Audit trail of budget changes and pauses, newest first (keyset pagination)",
          params: advertiserParamsSchema,
          querystring: auditQuerySchema,
          response: {
            200: auditResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const page = await dependency(
          "postgres",
          () => listAudit(deps.pool, request.params.id, request.query.before_id ?? null, request.query.limit),
          { inputs: { id: request.params.id, before_id: request.query.before_id } },
        );
        return { items: page.items, next_before_id: page.nextBeforeId };
      },
    );
  };
}
