import type { ServingStateBody } from "@adpipe/api-contract";
import type { ServingState } from "@adpipe/serving-client";

/** The HTTP form of a Redis serving state; an unknown advertiser gets the configured default. */
export function servingBody(
  advertiserId: string,
  state: ServingState | null,
  serveWhenUnknown: boolean,
): ServingStateBody {
  if (state === null) {
    return {
      advertiser_id: advertiserId,
      known: false,
      can_serve: serveWhenUnknown,
      reason: serveWhenUnknown ? null : "unknown_advertiser",
      period: null,
      net_micros: null,
      gross_micros: null,
      budget_micros: null,
      budget_source: null,
      mode: null,
      over_cap_micros: null,
      forecast_exhausted_at: null,
      forecast_period_spend_micros: null,
      budget_period: null,
      time_zone: null,
      pacing: null,
      serve_fraction: null,
      traffic_shape: null,
      clicks: null,
      updated_at: null,
    };
  }
  return {
    advertiser_id: advertiserId,
    known: true,
    can_serve: state.canServe,
    reason: state.reason,
    period: state.period === "" ? null : state.period,
    net_micros: state.netMicros,
    gross_micros: state.grossMicros,
    budget_micros: state.budgetMicros,
    budget_source: state.budgetSource,
    mode: state.mode,
    over_cap_micros: state.overCapMicros,
    forecast_exhausted_at:
      state.forecastExhaustedAtMs === null ? null : new Date(state.forecastExhaustedAtMs).toISOString(),
    forecast_period_spend_micros: state.forecastPeriodSpendMicros,
    budget_period: state.budgetPeriod,
    time_zone: state.timeZone,
    pacing: state.pacing,
    serve_fraction: state.serveFraction,
    traffic_shape: state.trafficShape === null ? null : [...state.trafficShape],
    clicks: state.clicks,
    updated_at: new Date(state.updatedAtMs).toISOString(),
  };
}
