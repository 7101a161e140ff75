import { clickPeriodOf, forecastPeriod, formatIsoUtc } from "@adpipe/core";
import { readStoredCalendars, type StoredCalendar } from "./calendars.js";
import { chunked, JOB_CHUNK } from "./keyspace-pass.js";
import { toInt } from "./redis-values.js";
import { evalsha, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";

/** Read beside the calendar: the period and spend the forecast starts from, and the forecast stored now. */
const FORECAST_FIELDS = [
  "period",
  "_period_start",
  "net_micros",
  "budget_micros",
  "forecast_exhausted_at",
  "forecast_period_spend_micros",
];

export interface ForecastRefreshOutcome {
  /** Advertiser hashes read. */
  readonly scanned: number;
  /** Hashes whose forecast fields changed (written). */
  readonly written: number;
}

/** The two public forecast fields of a state at an instant, as the hash stores them ("" = none). */
export function forecastFields(
  netMicros: number,
  budgetMicros: number | null,
  period: { readonly startMs: number; readonly endMs: number },
  nowMs: number,
): { readonly exhaustedAt: string; readonly periodSpendMicros: string } {
  const forecast = forecastPeriod({
    netMicros,
    budgetMicros,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    atMs: nowMs,
  });
  return {
    exhaustedAt: forecast.exhaustedAtMs === null ? "" : formatIsoUtc(forecast.exhaustedAtMs),
    periodSpendMicros: forecast.periodSpendMicros === null ? "" : String(forecast.periodSpendMicros),
  };
}

/**
 * Recomputes `forecast_exhausted_at` and `forecast_period_spend_micros` of every advertiser hash at the store's
 * clock (forecastPeriod of @adpipe/core) and writes those that changed: the shared SCAN pass (keyspace-pass.ts),
 * one pipelined HMGET per chunk, then
 * one set_forecast per changed hash (it skips a hash whose spend, budget or period moved since the read). The
 * tracker calls it every FORECAST_REFRESH_INTERVAL_MS, so forecasts keep moving when clicks stop.
 */
export async function refreshForecasts(context: StoreContext): Promise<ForecastRefreshOutcome> {
  const nowMs = context.clock();
  const script = luaScript("set_forecast");
  const defaults = { period: context.budgetPeriod, timeZone: context.timeZone };
  let scanned = 0;
  let written = 0;
  const { advertiserKeys } = await context.pass.listing();
  for (const keys of chunked(advertiserKeys, JOB_CHUNK)) {
    const stored = await readStoredCalendars(context.redis, keys, FORECAST_FIELDS);
    const writes = keys.flatMap((key, i) => {
      const { calendar, extra: v } = stored[i] as StoredCalendar;
      if (v[0] === null || v[0] === undefined) return [];
      scanned++;
      const startMs = toInt(v[1]);
      if (startMs === null) return [];
      const net = toInt(v[2]) ?? 0;
      const budget = toInt(v[3]);
      // The period of the hash, in the advertiser's own calendar (clickPeriodOf).
      const fields = forecastFields(net, budget, clickPeriodOf(startMs, calendar, defaults), nowMs);
      if (fields.exhaustedAt === (v[4] ?? null) && fields.periodSpendMicros === (v[5] ?? null)) return [];
      return [
        evalsha([
          script.sha,
          1,
          key,
          v[0],
          v[2] ?? "0",
          v[3] ?? "",
          fields.exhaustedAt,
          fields.periodSpendMicros,
        ]),
      ];
    });
    if (writes.length === 0) continue;
    const results = await runScripts(context.redis, writes);
    for (const [, value] of results) if (value === 1) written++;
  }
  return { scanned, written };
}
