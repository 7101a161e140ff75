import { DEFAULT_PARSE_OPTIONS, type ParseOptions, parseMoneyToMicros } from "@adpipe/core";
import { z } from "zod";
import { envVar } from "./env.js";

/**
 * The validation limits passed to @adpipe/core's parseEvent. Every consumer of the click stream (ingestor,
 * budget-tracker, `adpipe reprocess`) reads them from this one schema: if two paths judged events with
 * different limits, the dashboard and the ad servers would disagree about what an advertiser spent.
 */
export const eventRulesEnvSchema = z.object({
  EVENT_MAX_FUTURE_SKEW_MS: envVar.integer(0, 86_400_000).default(DEFAULT_PARSE_OPTIONS.maxFutureSkewMs),
  EVENT_LATENESS_HORIZON_MS: envVar
    .integer(60_000, 366 * 86_400_000)
    .default(DEFAULT_PARSE_OPTIONS.latenessHorizonMs),
  /** Largest click amount in currency units (decimal), e.g. 1000. */
  EVENT_MAX_AMOUNT: z
    .string()
    .default("1000")
    .transform((value, ctx) => {
      const parsed = parseMoneyToMicros(value);
      if (!parsed.ok || parsed.micros <= 0) {
        ctx.addIssue({ code: "custom", message: "expected a positive decimal amount" });
        return z.NEVER;
      }
      return parsed.micros;
    }),
  EVENT_MAX_PAYLOAD_BYTES: envVar.integer(64, 1_048_576).default(DEFAULT_PARSE_OPTIONS.maxPayloadBytes),
});
export type EventRulesEnv = z.output<typeof eventRulesEnvSchema>;

/** The parse options of the rules above (the caller adds referenceTimeMs per record). */
export function parseLimitsFromEnv(env: EventRulesEnv): Omit<ParseOptions, "referenceTimeMs"> {
  return {
    maxFutureSkewMs: env.EVENT_MAX_FUTURE_SKEW_MS,
    latenessHorizonMs: env.EVENT_LATENESS_HORIZON_MS,
    maxAmountMicros: env.EVENT_MAX_AMOUNT,
    maxPayloadBytes: env.EVENT_MAX_PAYLOAD_BYTES,
  };
}
