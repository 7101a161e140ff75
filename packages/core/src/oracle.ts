import { type AlertKey, crossedThresholds, DEFAULT_ALERT_THRESHOLDS_PCT } from "./alerts.js";
import { billableMicros, type ModeObservation, supersedesMode } from "./billing.js";
import {
  type BudgetCalendar,
  type CalendarState,
  calendarInForce,
  clickPeriodOf,
  emptyCalendarState,
  goldRowPeriodNet,
  observeCalendar,
  sameCalendar,
} from "./budget-calendar.js";
import {
  type BudgetPeriodWindow,
  budgetPeriodOf,
  canonicalTimeZone,
  periodsToEvaluate,
} from "./budget-period.js";
import {
  type BudgetMode,
  type BudgetPeriod,
  type BudgetSource,
  ERROR_CODES,
  type ErrorCode,
  type NotServingReason,
  type ParseOptions,
  type ParseResult,
  REJECTION_CODES,
  type RejectionCode,
  WARNING_CODES,
  type WarningCode,
} from "./contract.js";
import { CoreError } from "./errors.js";
import { clickDedupKeyOf, EventEffect, eventEffect } from "./event-effect.js";
import { exhaustedEarlyInLog, type Forecast, forecastPeriod, type TimedSpend } from "./forecast.js";
import { addMicros } from "./money.js";
import {
  DEFAULT_PACING_TOLERANCE_BP,
  decidePacedServing,
  type PacedServingDecision,
  type PacingObservation,
  supersedesPacing,
} from "./pacing.js";
import { ParseContext, parseEvent } from "./parse-event.js";
import {
  type BudgetObservation,
  budgetInForce,
  decideServing,
  isExplicitBudget,
  observationOf,
  overspendMicros,
  supersedesBudget,
} from "./spend.js";
import { timeBuckets } from "./time-buckets.js";

export interface OracleRecord {
  readonly value: Uint8Array | string | null;
  /** Kafka record timestamp: the reference time parseEvent judges the record against. */
  readonly timestampMs: number;
  readonly key?: string | null;
  readonly partition?: number;
  readonly offset?: number | string | bigint;
}

export interface OracleOptions {
  /** parseEvent limits (referenceTimeMs always comes from each record's timestamp). */
  readonly parseOptions?: Omit<ParseOptions, "referenceTimeMs">;
  /**
   * Service-wide budget period (BUDGET_PERIOD): that of advertisers that never set their own `budget_period`,
   * of Gold's can_serve and of servingStateAt's default. Default "day".
   */
  readonly budgetPeriod?: BudgetPeriod;
  /** Service-wide IANA zone of budget periods (BUDGET_TIME_ZONE) for advertisers without their own. Default "UTC". */
  readonly timeZone?: string;
  /** Keep every record's outcome (memory grows with the stream; for tests that check Silver row by row). */
  readonly keepOutcomes?: boolean;
}

/** What the oracle decided about one record. */
export interface RecordOutcome {
  readonly partition: number | undefined;
  readonly offset: number | string | bigint | undefined;
  readonly result: ParseResult;
  /** A later ad_click with an already-seen clickDedupKey: counted as a duplicate, never as spend. */
  readonly duplicate: boolean;
}

export interface BronzeCounts {
  /** Every record is a Bronze row. */
  readonly rows: number;
  /** Records read as event objects (they go on to Silver). */
  readonly parsed: number;
  readonly rejected: number;
  readonly rejectedByReason: Readonly<Record<RejectionCode, number>>;
}

export interface SilverCounts {
  /** Parsed events, duplicates included. */
  readonly events: number;
  /** Parsed ad_click events whose click was seen before. */
  readonly duplicates: number;
  /** valid/invalid and the finding counts are over the non-duplicate events. */
  readonly valid: number;
  readonly invalid: number;
  readonly errorCounts: Readonly<Record<ErrorCode, number>>;
  readonly warningCounts: Readonly<Record<WarningCode, number>>;
  /** Findings of the duplicates, separately (a store that keeps duplicate rows sees these too). */
  readonly duplicateErrorCounts: Readonly<Record<ErrorCode, number>>;
}

/** One expected Gold row: advertiser × UTC hour window. */
export interface GoldRow {
  readonly advertiserId: string;
  /** Last non-null advertiser name among the window's click events, in partition order. */
  readonly advertiser: string | null;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly spendHourMs: number;
  readonly spendDayMs: number;
  readonly spendMonthMs: number;
  readonly grossMicros: number;
  /** Billable net (billableMicros): the valid amount less what hard_cap put over the cap. */
  readonly netMicros: number;
  /** The part of valid clicks beyond a hard_cap budget (in gross, never in net); 0 in observe. */
  readonly overCapMicros: number;
  /** Non-duplicate clicks in the window, valid + invalid. */
  readonly recordCount: number;
  readonly validClicks: number;
  readonly invalidClicks: number;
  readonly duplicateClicks: number;
  /** Budget in force at the window end (supersedesBudget over observations with event time < windowEnd). */
  readonly budgetMicros: number | null;
  /** Where that budget came from; null when there is none. */
  readonly budgetSource: BudgetSource | null;
  /** The budget period the window is judged in, and its net spend from the period start to the window end. */
  readonly budgetPeriodId: string;
  readonly periodNetMicros: number;
  readonly canServe: boolean;
  readonly reason: NotServingReason | null;
}

export interface ServingState {
  readonly advertiserId: string;
  /** Budget period id containing nowMs. */
  readonly period: string;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  /** Billable net of the period (billableMicros). */
  readonly netMicros: number;
  readonly grossMicros: number;
  /** What hard_cap kept out of the period's net (over_cap). */
  readonly overCapMicros: number;
  /** Budget in force over all observations (supersedesBudget); null if none. */
  readonly budgetMicros: number | null;
  readonly budgetSource: BudgetSource | null;
  /** Budget mode in force over all mode observations (supersedesMode); observe when none. */
  readonly mode: BudgetMode;
  /**
   * The advertiser's own calendar in force (budget_period / time_zone it set; clickPeriodOf), null when it
   * never set one (the service-wide setting applies and the period is the one asked for).
   */
  readonly calendar: BudgetCalendar | null;
  /** Non-duplicate clicks with event time in the period, valid + invalid (the sum of Gold record_count). */
  readonly clicks: number;
  readonly validClicks: number;
  readonly invalidClicks: number;
  readonly canServe: boolean;
  readonly reason: NotServingReason | null;
  readonly overspendMicros: number;
}

interface MutableGoldRow {
  advertiserId: string;
  advertiser: string | null;
  windowStartMs: number;
  grossMicros: number;
  netMicros: number;
  overCapMicros: number;
  validClicks: number;
  invalidClicks: number;
  duplicateClicks: number;
}

interface AdvertiserLedger {
  /** Non-duplicate click contributions in observation order (net: the billable part). */
  times: number[];
  gross: number[];
  net: number[];
  overCap: number[];
  valid: boolean[];
  /** Start of the budget period each contribution was assigned to (clickPeriodOf at its place in the log). */
  periodStarts: number[];
  /** The advertiser's own calendar settings in force at the current place in the log. */
  calendar: CalendarState;
  /** How many times the calendar in force changed (clickPeriodOf: each change restarts the period). */
  calendarChanges: number;
  /** The calendar in force in each epoch (index: calendarChanges when it took effect; 0: the defaults). */
  epochCalendars: BudgetCalendar[];
  /** calendarChanges when each contribution was assigned its period. */
  periodEpochs: number[];
  /** Budget observations in observation (partition) order. */
  budgets: BudgetObservation[];
  /** The budget and mode in force at the current place in the log (what a click is billed against). */
  budget: BudgetObservation | null;
  mode: ModeObservation | null;
  /** The pacing in force over all pacing observations (supersedesPacing); null: never set (asap). */
  pacing: PacingObservation | null;
  /** Billable net so far per `<calendarChanges>|<period start>`, in partition order (the clamp's running total). */
  billableByPeriod: Map<string, number>;
}

function zeroCounts<K extends string>(codes: readonly K[]): Record<K, number> {
  const counts = {} as Record<K, number>;
  for (const code of codes) counts[code] = 0;
  return counts;
}

function goldKey(advertiserId: string, windowStartMs: number): string {
  return `${windowStartMs}|${advertiserId}`;
}

/**
 * Computes, from records in production order, what every store must end up with. Records of one advertiser
 * must come in partition order (they do when producers key by advertiser id). Incremental: observe records
 * one by one, ask for the expected state at any time.
 */
export class Oracle {
  private readonly parseLimits: Omit<ParseOptions, "referenceTimeMs">;
  readonly budgetPeriod: BudgetPeriod;
  readonly timeZone: string;
  private readonly defaults: BudgetCalendar;
  private readonly keepOutcomes: boolean;

  private records = 0;
  private readonly rejectedByReason = zeroCounts(REJECTION_CODES);
  private events = 0;
  private duplicates = 0;
  private valid = 0;
  private invalid = 0;
  private readonly errorCounts = zeroCounts(ERROR_CODES);
  private readonly warningCounts = zeroCounts(WARNING_CODES);
  private readonly duplicateErrorCounts = zeroCounts(ERROR_CODES);

  private readonly seenClicks = new Set<string>();
  private readonly gold = new Map<string, MutableGoldRow>();
  private readonly ledgers = new Map<string, AdvertiserLedger>();
  private readonly outcomeLog: RecordOutcome[] = [];
  /** Reused for every record (observe is synchronous). */
  private readonly effect = new EventEffect();
  private readonly parseContext = new ParseContext();

  constructor(options: OracleOptions = {}) {
    this.parseLimits = options.parseOptions ?? {};
    this.budgetPeriod = options.budgetPeriod ?? "day";
    // Kept as configured (checked here), as the stores keep BUDGET_TIME_ZONE: links such as Asia/Kolkata stay.
    this.timeZone = options.timeZone ?? "UTC";
    canonicalTimeZone(this.timeZone);
    this.defaults = { period: this.budgetPeriod, timeZone: this.timeZone };
    this.keepOutcomes = options.keepOutcomes ?? false;
  }

  observe(record: OracleRecord): RecordOutcome {
    if (!Number.isFinite(record.timestampMs)) {
      throw new CoreError("invalid_options", `record timestamp must be finite: ${record.timestampMs}`);
    }
    this.records++;
    const result = parseEvent(
      record.value,
      { ...this.parseLimits, referenceTimeMs: record.timestampMs },
      this.parseContext,
    );
    let duplicate = false;
    if (!result.ok) {
      this.rejectedByReason[result.reason]++;
    } else {
      this.events++;
      const effect = eventEffect(result, this.effect);
      const dedupKey = clickDedupKeyOf(effect);
      if (dedupKey !== null) {
        if (this.seenClicks.has(dedupKey)) duplicate = true;
        else this.seenClicks.add(dedupKey);
      }
      if (duplicate) {
        this.duplicates++;
        for (const code of result.errors) this.duplicateErrorCounts[code]++;
      } else {
        if (result.isValid) this.valid++;
        else this.invalid++;
        for (const code of result.errors) this.errorCounts[code]++;
        for (const code of result.warnings) this.warningCounts[code]++;
      }
      if (effect.advertiserId !== null) this.ledgerOf(effect.advertiserId);
      if (!duplicate) {
        const observation = observationOf(effect);
        if (observation !== null) {
          const ledger = this.ledgerOf(observation.advertiserId);
          ledger.budgets.push(observation);
          if (supersedesBudget(ledger.budget, observation)) ledger.budget = observation;
          if (effect.budgetMode !== null) {
            const mode = { mode: effect.budgetMode, eventTimeMs: effect.eventTimeMs };
            if (supersedesMode(ledger.mode, mode)) ledger.mode = mode;
          }
          const before = calendarInForce(ledger.calendar, this.defaults);
          observeCalendar(ledger.calendar, effect.eventTimeMs, effect.budgetPeriod, effect.timeZone);
          const after = calendarInForce(ledger.calendar, this.defaults);
          if (!sameCalendar(before, after)) {
            ledger.calendarChanges++;
            ledger.epochCalendars.push(after);
          }
          if (effect.pacing !== null) {
            const pacing = { pacing: effect.pacing, eventTimeMs: effect.eventTimeMs };
            if (supersedesPacing(ledger.pacing, pacing)) ledger.pacing = pacing;
          }
        }
      }
      if (effect.spends && effect.advertiserId !== null) {
        const row = this.rowOf(effect.advertiserId, effect.windowStartMs);
        if (effect.advertiser !== null) row.advertiser = effect.advertiser;
        if (duplicate) row.duplicateClicks++;
        else {
          const ledger = this.ledgerOf(effect.advertiserId);
          const periodStartMs = clickPeriodOf(effect.eventTimeMs, ledger.calendar, this.defaults).startMs;
          const billable = this.bill(ledger, `${ledger.calendarChanges}|${periodStartMs}`, effect.netMicros);
          const overCap = effect.netMicros - billable;
          row.grossMicros = addMicros(row.grossMicros, effect.grossMicros);
          row.netMicros = addMicros(row.netMicros, billable);
          row.overCapMicros = addMicros(row.overCapMicros, overCap);
          if (effect.valid) row.validClicks++;
          else row.invalidClicks++;
          ledger.times.push(effect.eventTimeMs);
          ledger.gross.push(effect.grossMicros);
          ledger.net.push(billable);
          ledger.overCap.push(overCap);
          ledger.valid.push(effect.valid);
          ledger.periodStarts.push(periodStartMs);
          ledger.periodEpochs.push(ledger.calendarChanges);
        }
      }
    }
    const outcome: RecordOutcome = { partition: record.partition, offset: record.offset, result, duplicate };
    if (this.keepOutcomes) this.outcomeLog.push(outcome);
    return outcome;
  }

  observeAll(records: Iterable<OracleRecord>): this {
    for (const record of records) this.observe(record);
    return this;
  }

  /**
   * The billable part of a click's net by billableMicros, against the budget and mode in force at this place
   * in the log and the billable net of the click's budget period so far; records it in the running total.
   */
  private bill(ledger: AdvertiserLedger, periodKey: string, netMicros: number): number {
    const sofar = ledger.billableByPeriod.get(periodKey) ?? 0;
    const mode = ledger.mode?.mode ?? "observe";
    const billable = billableMicros(mode, ledger.budget?.budgetMicros ?? null, sofar, netMicros);
    ledger.billableByPeriod.set(periodKey, addMicros(sofar, billable));
    return billable;
  }

  outcomes(): readonly RecordOutcome[] {
    if (!this.keepOutcomes) throw new CoreError("invalid_options", "outcomes need keepOutcomes: true");
    return this.outcomeLog;
  }

  bronze(): BronzeCounts {
    const rejected = this.records - this.events;
    return {
      rows: this.records,
      parsed: this.events,
      rejected,
      rejectedByReason: { ...this.rejectedByReason },
    };
  }

  silver(): SilverCounts {
    return {
      events: this.events,
      duplicates: this.duplicates,
      valid: this.valid,
      invalid: this.invalid,
      errorCounts: { ...this.errorCounts },
      warningCounts: { ...this.warningCounts },
      duplicateErrorCounts: { ...this.duplicateErrorCounts },
    };
  }

  /** Every advertiser id seen on a parsed event (valid or not), sorted. */
  advertisers(): string[] {
    return [...this.ledgers.keys()].sort();
  }

  /** Expected Gold rows, sorted by advertiserId then windowStartMs. */
  goldRows(): GoldRow[] {
    const byAdvertiser = new Map<string, MutableGoldRow[]>();
    for (const row of this.gold.values()) {
      const list = byAdvertiser.get(row.advertiserId);
      if (list === undefined) byAdvertiser.set(row.advertiserId, [row]);
      else list.push(row);
    }
    const out: GoldRow[] = [];
    for (const advertiserId of [...byAdvertiser.keys()].sort()) {
      const rows = (byAdvertiser.get(advertiserId) ?? []).sort((a, b) => a.windowStartMs - b.windowStartMs);
      const timeline = this.timelineOf(advertiserId);
      const ledger = this.ledgerOf(advertiserId);
      const contributions = ledger.times.map((eventTimeMs, i) => ({
        eventTimeMs,
        netMicros: ledger.net[i] as number,
        epoch: ledger.periodEpochs[i] as number,
      }));
      for (const row of rows) {
        const buckets = timeBuckets(row.windowStartMs);
        // Service-wide advertisers: the period-to-date net by event time; own calendars: goldRowPeriodNet.
        let period: BudgetPeriodWindow;
        let periodNetMicros: number;
        if (ledger.calendarChanges === 0) {
          period = budgetPeriodOf(row.windowStartMs, this.defaults.period, this.defaults.timeZone);
          periodNetMicros = timeline.netBetween(period.startMs, Math.min(buckets.windowEndMs, period.endMs));
        } else {
          ({ period, periodNetMicros } = goldRowPeriodNet(
            row.windowStartMs,
            buckets.windowEndMs,
            ledger.epochCalendars,
            contributions,
          ));
        }
        const budget = timeline.budgetBefore(buckets.windowEndMs);
        const budgetMicros = budget?.budgetMicros ?? null;
        const decision = decideServing({ periodNetMicros, budgetMicros });
        out.push({
          advertiserId,
          advertiser: row.advertiser,
          windowStartMs: row.windowStartMs,
          windowEndMs: buckets.windowEndMs,
          spendHourMs: buckets.spendHourMs,
          spendDayMs: buckets.spendDayMs,
          spendMonthMs: buckets.spendMonthMs,
          grossMicros: row.grossMicros,
          netMicros: row.netMicros,
          overCapMicros: row.overCapMicros,
          recordCount: row.validClicks + row.invalidClicks,
          validClicks: row.validClicks,
          invalidClicks: row.invalidClicks,
          duplicateClicks: row.duplicateClicks,
          budgetMicros,
          budgetSource: budget?.source ?? null,
          budgetPeriodId: period.id,
          periodNetMicros,
          canServe: decision.canServe,
          reason: decision.reason,
        });
      }
    }
    return out;
  }

  /** Expected Gold rows keyed by `${windowStartMs}|${advertiserId}`. */
  goldByKey(): Map<string, GoldRow> {
    const map = new Map<string, GoldRow>();
    for (const row of this.goldRows()) map.set(goldKey(row.advertiserId, row.windowStartMs), row);
    return map;
  }

  /**
   * Per advertiser (sorted by id), the state of the budget period containing nowMs: what the real-time store
   * must hold once it has applied every observed record. Spend counts by event time within the period;
   * the budget is the one in force over all observations (supersedesBudget). `period` and `timeZone` judge the
   * advertisers that never set a calendar of their own; one that did is judged in its calendar in force
   * (clickPeriodOf), counting the clicks assigned since its last calendar change to a period starting where
   * the period of nowMs starts.
   */
  servingStateAt(
    nowMs: number,
    period: BudgetPeriod = this.budgetPeriod,
    timeZone = this.timeZone,
  ): ServingState[] {
    const window = budgetPeriodOf(nowMs, period, timeZone);
    return this.advertisers().map((advertiserId) => {
      const own = this.ownCalendar(advertiserId);
      if (own === null) return this.stateOf(advertiserId, window, null);
      return this.stateOf(advertiserId, budgetPeriodOf(nowMs, own.period, own.timeZone), own);
    });
  }

  /**
   * The budget_threshold and exhausted_early alerts of the period containing nowMs, once every observed record is applied: per
   * advertiser, each threshold its period net has reached against the budget in force (crossedThresholds).
   * What an alert evaluator firing once per key must have fired in total when the budget in force did not move
   * down during the period (a fired alert stays fired; docs/alerts.md).
   */
  alertsAt(
    nowMs: number,
    thresholdsOf: (advertiserId: string) => readonly number[] = () => DEFAULT_ALERT_THRESHOLDS_PCT,
    period: BudgetPeriod = this.budgetPeriod,
    timeZone = this.timeZone,
  ): AlertKey[] {
    return this.servingStateAt(nowMs, period, timeZone).flatMap((state) =>
      this.alertsOf(state, thresholdsOf),
    );
  }

  /** The alerts a period's state calls for: crossedThresholds of its net, and exhausted_early of its click log. */
  private alertsOf(
    state: ServingState,
    thresholdsOf: (advertiserId: string) => readonly number[],
  ): AlertKey[] {
    const alerts: AlertKey[] = crossedThresholds(
      state.netMicros,
      state.budgetMicros,
      thresholdsOf(state.advertiserId),
    ).map((thresholdPct) => ({
      advertiserId: state.advertiserId,
      periodId: state.period,
      kind: "budget_threshold" as const,
      thresholdPct,
    }));
    if (this.exhaustedEarly(state)) {
      alerts.push({
        advertiserId: state.advertiserId,
        periodId: state.period,
        kind: "exhausted_early",
        thresholdPct: 0,
      });
    }
    return alerts;
  }

  /**
   * The budget_threshold and exhausted_early alerts one evaluator pass at nowMs fires at most, once every observed
   * record is applied: per advertiser, in its own calendar when it set one (else `period` / `timeZone`), the
   * periods periodsToEvaluate gives (the one of nowMs and `lookback` before it), each judged as alertsAt judges
   * the period of nowMs (own calendars count the clicks assigned since the last calendar change).
   */
  alertsEvaluatedAt(
    nowMs: number,
    lookback = 1,
    thresholdsOf: (advertiserId: string) => readonly number[] = () => DEFAULT_ALERT_THRESHOLDS_PCT,
    period: BudgetPeriod = this.budgetPeriod,
    timeZone = this.timeZone,
  ): AlertKey[] {
    return this.advertisers().flatMap((advertiserId) => {
      const own = this.ownCalendar(advertiserId);
      const calendar = own ?? { period, timeZone };
      return periodsToEvaluate(nowMs, calendar.period, calendar.timeZone, lookback).flatMap((window) =>
        this.alertsOf(this.stateOf(advertiserId, window, own), thresholdsOf),
      );
    });
  }

  /**
   * Per advertiser (sorted by id), the forecast (forecastPeriod) of the period containing nowMs made at nowMs
   * from the state servingStateAt gives: what the tracker's forecast refresh writes into the hash.
   */
  forecastAt(
    nowMs: number,
    period: BudgetPeriod = this.budgetPeriod,
    timeZone = this.timeZone,
  ): { readonly advertiserId: string; readonly forecast: Forecast }[] {
    return this.servingStateAt(nowMs, period, timeZone).map((state) => ({
      advertiserId: state.advertiserId,
      forecast: forecastPeriod({
        netMicros: state.netMicros,
        budgetMicros: state.budgetMicros,
        periodStartMs: state.periodStartMs,
        periodEndMs: state.periodEndMs,
        atMs: nowMs,
      }),
    }));
  }

  /**
   * exhausted_early over the period's click log (event time, billable net) against the budget in force: the
   * clicks the period's spend counts (countsInPeriod), so an own calendar's log starts at its last change.
   */
  private exhaustedEarly(state: ServingState): boolean {
    const ledger = this.ledgerOf(state.advertiserId);
    const window = { id: state.period, startMs: state.periodStartMs, endMs: state.periodEndMs };
    const spend: TimedSpend[] = [];
    for (let i = 0; i < ledger.times.length; i++)
      if (countsInPeriod(ledger, i, window, state.calendar))
        spend.push({ timeMs: ledger.times[i] as number, netMicros: ledger.net[i] as number });
    return exhaustedEarlyInLog(spend, state.budgetMicros, state.periodStartMs, state.periodEndMs);
  }

  /** The advertiser's calendar in force when it set any part of it, else null. */
  private ownCalendar(advertiserId: string): BudgetCalendar | null {
    const state = this.ledgerOf(advertiserId).calendar;
    if (state.period === null && state.timeZone === null) return null;
    return calendarInForce(state, this.defaults);
  }

  /**
   * Per advertiser (sorted by id), the paced serving decision at instant nowMs once every observed record is
   * applied (decidePacedServing with the period containing nowMs and the pacing in force; asap when none): what
   * the tracker's hash says (can_serve, reason, serve_fraction) after its next evaluation at nowMs. `shapes`:
   * the hourly weights of shaped advertisers (none: they pace even).
   */
  pacingDecisionsAt(
    nowMs: number,
    toleranceBp: number = DEFAULT_PACING_TOLERANCE_BP,
    shapes: ReadonlyMap<string, readonly number[]> = new Map(),
    period: BudgetPeriod = this.budgetPeriod,
    timeZone = this.timeZone,
  ): { advertiserId: string; pacing: PacingObservation["pacing"] | null; decision: PacedServingDecision }[] {
    return this.servingStateAt(nowMs, period, timeZone).map((state) => {
      const pacing = this.ledgerOf(state.advertiserId).pacing?.pacing ?? null;
      const decision = decidePacedServing({
        periodNetMicros: state.netMicros,
        budgetMicros: state.budgetMicros,
        pace:
          pacing === null
            ? null
            : {
                pacing,
                periodStartMs: state.periodStartMs,
                periodEndMs: state.periodEndMs,
                nowMs,
                toleranceBp,
                shape: shapes.get(state.advertiserId) ?? null,
              },
      });
      return { advertiserId: state.advertiserId, pacing, decision };
    });
  }

  private stateOf(
    advertiserId: string,
    window: BudgetPeriodWindow,
    calendar: BudgetCalendar | null,
  ): ServingState {
    const ledger = this.ledgerOf(advertiserId);
    let net = 0;
    let gross = 0;
    let overCap = 0;
    let validClicks = 0;
    let invalidClicks = 0;
    for (let i = 0; i < ledger.times.length; i++) {
      if (!countsInPeriod(ledger, i, window, calendar)) continue;
      net = addMicros(net, ledger.net[i] as number);
      gross = addMicros(gross, ledger.gross[i] as number);
      overCap = addMicros(overCap, ledger.overCap[i] as number);
      if (ledger.valid[i]) validClicks++;
      else invalidClicks++;
    }
    const budget = budgetInForce(ledger.budgets);
    const budgetMicros = budget?.budgetMicros ?? null;
    const decision = decideServing({ periodNetMicros: net, budgetMicros });
    return {
      advertiserId,
      period: window.id,
      periodStartMs: window.startMs,
      periodEndMs: window.endMs,
      netMicros: net,
      grossMicros: gross,
      overCapMicros: overCap,
      budgetMicros,
      budgetSource: budget?.source ?? null,
      mode: ledger.mode?.mode ?? "observe",
      calendar,
      clicks: validClicks + invalidClicks,
      validClicks,
      invalidClicks,
      canServe: decision.canServe,
      reason: decision.reason,
      overspendMicros: overspendMicros(net, budgetMicros),
    };
  }

  private ledgerOf(advertiserId: string): AdvertiserLedger {
    let ledger = this.ledgers.get(advertiserId);
    if (ledger === undefined) {
      ledger = {
        times: [],
        gross: [],
        net: [],
        overCap: [],
        valid: [],
        periodStarts: [],
        calendar: emptyCalendarState(),
        calendarChanges: 0,
        epochCalendars: [this.defaults],
        periodEpochs: [],
        budgets: [],
        budget: null,
        mode: null,
        pacing: null,
        billableByPeriod: new Map(),
      };
      this.ledgers.set(advertiserId, ledger);
    }
    return ledger;
  }

  private rowOf(advertiserId: string, windowStartMs: number): MutableGoldRow {
    const key = goldKey(advertiserId, windowStartMs);
    let row = this.gold.get(key);
    if (row === undefined) {
      row = {
        advertiserId,
        advertiser: null,
        windowStartMs,
        grossMicros: 0,
        netMicros: 0,
        overCapMicros: 0,
        validClicks: 0,
        invalidClicks: 0,
        duplicateClicks: 0,
      };
      this.gold.set(key, row);
    }
    return row;
  }

  private timelineOf(advertiserId: string): Timeline {
    return new Timeline(this.ledgerOf(advertiserId));
  }
}

/**
 * Whether contribution i of a ledger counts toward `window`'s spend: by event time within it for an advertiser
 * on the service-wide calendar (calendar null); for an own calendar, when clickPeriodOf assigned it to that
 * window since the last calendar change (a change restarts the period).
 */
function countsInPeriod(
  ledger: AdvertiserLedger,
  i: number,
  window: BudgetPeriodWindow,
  calendar: BudgetCalendar | null,
): boolean {
  if (calendar === null) {
    const t = ledger.times[i] as number;
    return t >= window.startMs && t < window.endMs;
  }
  return ledger.periodStarts[i] === window.startMs && ledger.periodEpochs[i] === ledger.calendarChanges;
}

/** Sorted views of one advertiser's ledger for range sums and "budget in force at" queries. */
class Timeline {
  private readonly netTimes: Float64Array;
  /** prefix[i] = sum of net of the first i contributions in time order. */
  private readonly prefix: number[];
  /** Explicit and click-carried observations, each sorted by event time (partition order among equal times). */
  private readonly explicit: BudgetObservation[];
  private readonly explicitTimes: number[];
  private readonly carried: BudgetObservation[];
  private readonly carriedTimes: number[];

  constructor(ledger: AdvertiserLedger) {
    const order = ledger.times
      .map((_, i) => i)
      .sort((a, b) => (ledger.times[a] as number) - (ledger.times[b] as number));
    this.netTimes = Float64Array.from(order, (i) => ledger.times[i] as number);
    this.prefix = [0];
    let sum = 0;
    for (const i of order) {
      sum = addMicros(sum, ledger.net[i] as number);
      this.prefix.push(sum);
    }
    // Stable sort by time keeps partition order among equal times: the last of a run of equal times wins.
    const byTime = (a: BudgetObservation, b: BudgetObservation) => a.eventTimeMs - b.eventTimeMs;
    this.explicit = ledger.budgets.filter((o) => isExplicitBudget(o.source)).sort(byTime);
    this.carried = ledger.budgets.filter((o) => !isExplicitBudget(o.source)).sort(byTime);
    this.explicitTimes = this.explicit.map((o) => o.eventTimeMs);
    this.carriedTimes = this.carried.map((o) => o.eventTimeMs);
  }

  /** Net of contributions with start <= time < end. */
  netBetween(start: number, end: number): number {
    if (end <= start) return 0;
    return (
      (this.prefix[lowerBound(this.netTimes, end)] as number) -
      (this.prefix[lowerBound(this.netTimes, start)] as number)
    );
  }

  /**
   * budgetInForce(observations, before) by index: the latest explicit observation before `before`, else the
   * latest click-carried one (supersedesBudget ranks explicit first; a test holds the two equal).
   */
  budgetBefore(before: number): BudgetObservation | null {
    const explicit = lowerBound(this.explicitTimes, before) - 1;
    if (explicit >= 0) return this.explicit[explicit] as BudgetObservation;
    const carried = lowerBound(this.carriedTimes, before) - 1;
    return carried >= 0 ? (this.carried[carried] as BudgetObservation) : null;
  }
}

/** First index whose value is >= target. */
function lowerBound(values: ArrayLike<number>, target: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Convenience: an oracle over a whole stream. */
export function computeOracle(records: Iterable<OracleRecord>, options: OracleOptions = {}): Oracle {
  return new Oracle(options).observeAll(records);
}
