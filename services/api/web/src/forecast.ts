import type { ServingRow } from "./api.js";
import { element } from "./dom.js";
import { displayMoney, microsToDecimal } from "./money.js";

/**
 * When the budget runs out at the period's pace so far (the tracker's forecast, docs/realtime.md#forecasts):
 * a UTC time, "not this period", or "—" before any forecast.
 */
export function forecastText(s: ServingRow | undefined): string {
  if (s?.forecast_exhausted_at != null)
    return `${s.forecast_exhausted_at.slice(0, 16).replace("T", " ")} UTC`;
  return s?.forecast_period_spend_micros == null ? "—" : "not this period";
}

/**
 * The forecast tile of the overview: the forecast period-end net of the advertisers in view (their own periods),
 * and when the budget runs out (one advertiser) or how many run out this period (several).
 */
export function renderForecastTile(serving: readonly ServingRow[]): void {
  const value = element<HTMLElement>("kpi-forecast");
  const sub = element<HTMLElement>("kpi-forecast-exhausted");
  const forecast = serving.filter((s) => s.forecast_period_spend_micros != null);
  const total = forecast.reduce((sum, s) => sum + BigInt(s.forecast_period_spend_micros ?? 0), 0n);
  value.textContent = forecast.length === 0 ? "—" : displayMoney(total);
  value.dataset.exact = forecast.length === 0 ? "" : microsToDecimal(total);
  value.title = value.dataset.exact;
  const runningOut = serving.filter((s) => s.forecast_exhausted_at != null).length;
  sub.textContent =
    serving.length === 1
      ? `runs out: ${forecastText(serving[0])}`
      : forecast.length === 0
        ? ""
        : `${runningOut} of ${serving.length} run out this period`;
  sub.dataset.exhausted = String(runningOut);
}
