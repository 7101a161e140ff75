import { CoreError } from "./errors.js";

/**
 * Spend forecasts (docs/realtime.md#forecasts). The spend rate is the period's run rate: billable net so far over
 * the time elapsed since the period began, with the elapsed time floored at 1/24 of the period (one hour of a
 * day) so that the first clicks of a period do not project wildly. It needs nothing but the period's net, its
 * bounds and an instant, so Redis, the warehouse and the oracle compute the same figure, and a restart or a
 * rebuild loses no hidden state.
 *
 * All arithmetic is exact (BigInt): micros up to 2^53 times milliseconds up to 2^42 exceed a double.
 */
export interface ForecastInput {
  /** Period-to-date billable net (micros). */
  readonly netMicros: number;
  /** Budget in force (micros); null when none was ever set. */
  readonly budgetMicros: number | null;
  /** The budget period, [start, end) in epoch ms. */
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  /** The instant the forecast is made at (epoch ms). */
  readonly atMs: number;
}

export interface Forecast {
  /**
   * Epoch ms at which the net is projected to reach the budget; `atMs` when it already has; null when it is not
   * projected to within the period (or no budget, no positive spend, lifetime period).
   */
  readonly exhaustedAtMs: number | null;
  /** Projected net at the period's end (micros, rounded down); null for lifetime periods (no end). */
  readonly periodSpendMicros: number | null;
}

/** The elapsed time is floored at this fraction of the period: 1/24 (an hour of a day, 2.5 minutes of an hour). */
export const FORECAST_MIN_WINDOW_DIVISOR = 24;
/** exhausted_early: exhaustion forecast before this share of the period (4/5 = 80 %). */
export const EXHAUSTED_EARLY_NUMERATOR = 4;
export const EXHAUSTED_EARLY_DENOMINATOR = 5;
/** Periods longer than this have no end to project to (lifetime). */
const MAX_FORECAST_PERIOD_MS = 400 * 86_400_000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function safe(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value))
    throw new CoreError("unsafe_integer", `${name} ${value} is not a safe integer`);
  return BigInt(value);
}

/** The window the rate is measured over at `atMs`: the elapsed part of the period, at least 1/24 of it. */
function rateWindowMs(periodStartMs: number, periodEndMs: number, atMs: number): number {
  const floor = Math.max(1, Math.floor((periodEndMs - periodStartMs) / FORECAST_MIN_WINDOW_DIVISOR));
  return Math.max(atMs - periodStartMs, floor);
}

/** The forecast of a period at an instant (see the module comment). Pure; throws on unsafe integers. */
export function forecastPeriod(input: ForecastInput): Forecast {
  const { netMicros, budgetMicros, periodStartMs, periodEndMs, atMs } = input;
  const net = safe("net", netMicros);
  safe("period start", periodStartMs);
  safe("period end", periodEndMs);
  safe("instant", atMs);
  if (budgetMicros !== null) safe("budget", budgetMicros);
  if (periodEndMs <= periodStartMs)
    throw new CoreError(
      "invalid_options",
      `period end ${periodEndMs} is not after its start ${periodStartMs}`,
    );
  if (periodEndMs - periodStartMs > MAX_FORECAST_PERIOD_MS)
    return { exhaustedAtMs: null, periodSpendMicros: null };
  const at = Math.max(atMs, periodStartMs);
  const window = BigInt(rateWindowMs(periodStartMs, periodEndMs, at));
  const remainingMs = BigInt(Math.max(0, periodEndMs - at));
  // Only a positive rate projects: a period with no (or refunded) spend stays where it is.
  const projected = net > 0n ? net + (net * remainingMs) / window : net;
  // Capped at 2^53 − 1 (9 × 10^9 units: beyond any budget) so that the figure stays an exact integer.
  const periodSpendMicros = Number(projected > MAX_SAFE ? MAX_SAFE : projected);
  if (budgetMicros === null || budgetMicros <= 0 || net <= 0n)
    return { exhaustedAtMs: null, periodSpendMicros };
  const budget = BigInt(budgetMicros);
  if (net >= budget) return { exhaustedAtMs: at, periodSpendMicros };
  // The first millisecond at which net + rate × t reaches the budget: ceil((budget − net) × window / net).
  const untilMs = ((budget - net) * window + net - 1n) / net;
  if (untilMs > remainingMs) return { exhaustedAtMs: null, periodSpendMicros };
  return { exhaustedAtMs: at + Number(untilMs), periodSpendMicros };
}

/**
 * exhausted_early: the forecast made at `atMs` (an instant inside the period) puts exhaustion before 80 % of the
 * period (exact: 5 × (exhausted − start) < 4 × (end − start)).
 */
export function isExhaustedEarly(input: ForecastInput): boolean {
  if (input.atMs < input.periodStartMs || input.atMs >= input.periodEndMs) return false;
  const { exhaustedAtMs } = forecastPeriod(input);
  if (exhaustedAtMs === null) return false;
  return (
    BigInt(exhaustedAtMs - input.periodStartMs) * BigInt(EXHAUSTED_EARLY_DENOMINATOR) <
    BigInt(input.periodEndMs - input.periodStartMs) * BigInt(EXHAUSTED_EARLY_NUMERATOR)
  );
}

/** One spend observation of a period: the billable net a click added at its event time. */
export interface TimedSpend {
  readonly timeMs: number;
  readonly netMicros: number;
}

/**
 * Whether exhausted_early holds for a period's spend log: at some click instant (event time, before 80 % of the
 * period) the forecast from the net up to that instant puts exhaustion before 80 % of the period. Between
 * clicks a forecast only moves later (the net stays, the window grows), so the click instants are the only ones
 * that matter: the answer depends on the log, never on when anyone looked.
 */
export function exhaustedEarlyInLog(
  spend: readonly TimedSpend[],
  budgetMicros: number | null,
  periodStartMs: number,
  periodEndMs: number,
): boolean {
  if (budgetMicros === null || budgetMicros <= 0) return false;
  const inPeriod = spend
    .filter((s) => s.timeMs >= periodStartMs && s.timeMs < periodEndMs)
    .sort((a, b) => a.timeMs - b.timeMs);
  let net = 0;
  for (let i = 0; i < inPeriod.length; i++) {
    const entry = inPeriod[i] as TimedSpend;
    net += entry.netMicros;
    // Clicks of the same instant count together.
    if (i + 1 < inPeriod.length && (inPeriod[i + 1] as TimedSpend).timeMs === entry.timeMs) continue;
    if (isExhaustedEarly({ netMicros: net, budgetMicros, periodStartMs, periodEndMs, atMs: entry.timeMs }))
      return true;
  }
  return false;
}
