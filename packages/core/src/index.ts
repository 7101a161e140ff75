export {
  ALERT_KINDS,
  type AlertEvent,
  type AlertKey,
  type AlertKind,
  alertEventSchema,
  alertKeyOf,
  alertThresholds,
  alertThresholdsSchema,
  crossedThresholds,
  DEFAULT_ALERT_THRESHOLDS_PCT,
  MAX_ALERT_THRESHOLD_PCT,
  MAX_ALERT_THRESHOLDS,
} from "./alerts.js";
export { billableMicros, type ModeObservation, modeInForce, supersedesMode } from "./billing.js";
export {
  type BudgetCalendar,
  type CalendarState,
  calendarInForce,
  clickPeriodOf,
  emptyCalendarState,
  observeCalendar,
  type SettingObservation,
  sameCalendar,
  supersedesSetting,
} from "./budget-calendar.js";
export {
  type BudgetPeriodWindow,
  budgetPeriodOf,
  canonicalTimeZone,
  DEFAULT_BUDGET_PERIOD,
  DEFAULT_TIME_ZONE,
  LIFETIME_PERIOD,
} from "./budget-period.js";
export {
  type CivilDate,
  civilFromDays,
  daysFromCivil,
  formatIsoUtc,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from "./civil.js";
export * from "./contract.js";
export { CORE_ERROR_CODES, CoreError, type CoreErrorCode, isCoreError } from "./errors.js";
export { clickDedupKeyOf, EventEffect, eventEffect } from "./event-effect.js";
export {
  EXHAUSTED_EARLY_DENOMINATOR,
  EXHAUSTED_EARLY_NUMERATOR,
  exhaustedEarlyInLog,
  FORECAST_MIN_WINDOW_DIVISOR,
  type Forecast,
  type ForecastInput,
  forecastPeriod,
  isExhaustedEarly,
  type TimedSpend,
} from "./forecast.js";
export {
  DEFAULT_GENERATOR_SHARES,
  DEFAULT_GENERATOR_START_MS,
  GENERATED_KINDS,
  GENERATOR_CALENDARS,
  type GeneratedKind,
  type GeneratedRecord,
  type GeneratorOptions,
  type GeneratorShares,
  generateStream,
  type MicrosRange,
  pythonUtcIsoformat,
} from "./generator.js";
export {
  hasBadIdChars,
  type IdProblem,
  idProblem,
  isValidAdvertiserId,
  MAX_ADVERTISER_ID_LENGTH,
} from "./ids.js";
export {
  addMicros,
  formatMicros,
  MAX_MONEY_STRING_LENGTH,
  MICRO_DECIMALS,
  MICROS_PER_UNIT,
  type MoneyParseFailure,
  type MoneyParseResult,
  microsToNumberString,
  parseExactMoneyToMicros,
  parseMoneyToMicros,
  subtractMicros,
  unitsToMicros,
} from "./money.js";
export {
  DEFAULT_PACING_TOLERANCE_BP,
  decidePacedServing,
  decidePacing,
  formatServeFraction,
  type PacedServingDecision,
  type PacedServingInput,
  type PacingDecision,
  type PacingInput,
  type PacingObservation,
  pacingTargetFraction,
  SERVE_FRACTION_SCALE,
  SHAPE_HOURS,
  supersedesPacing,
  toleranceBpOfPct,
  usableShape,
} from "./pacing.js";
export {
  DEFAULT_PARSE_OPTIONS,
  FIELD_MAX_LENGTH,
  KNOWN_FIELDS,
  ParseContext,
  parseEvent,
  validateEventValue,
} from "./parse-event.js";
export { Prng, ZipfSampler } from "./random.js";
export {
  type AppliedPartition,
  appliedWatermark,
  mayReserve,
  RESERVATION_REFUSALS,
  type ReservationDecision,
  type ReservationRefusal,
  type ReservationState,
  reservableMicros,
  reservationExpired,
} from "./reservation.js";
export {
  type BudgetObservation,
  budgetInForce,
  budgetObservation,
  clickDedupKey,
  contributionOf,
  decideServing,
  isExplicitBudget,
  observationOf,
  overspendMicros,
  type ServingInput,
  type SpendContribution,
  spendContribution,
  supersedesBudget,
} from "./spend.js";
export { timeBuckets, WINDOW_MS, windowStartOf } from "./time-buckets.js";
export { isEpochMs, parseTimestamp, type TimestampParseResult } from "./timestamp.js";
export {
  checkPosition,
  DEFAULT_RESET_POLICY,
  type DetectedReset,
  describeReset,
  detectResets,
  generationTopic,
  type LogBounds,
  type PositionChange,
  type PositionCheck,
  type PositionMove,
  planPositions,
  RESET_POLICIES,
  type ResetPolicy,
  type ResetReason,
  type ResetTarget,
  type StorePlan,
  storesOnOldLog,
  targetOffset,
} from "./topic-reset.js";
