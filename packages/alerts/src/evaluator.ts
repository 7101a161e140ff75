import {
  type AlertKind,
  type BudgetPeriod,
  type BudgetPeriodWindow,
  crossedThresholds,
  DEFAULT_ALERT_THRESHOLDS_PCT,
  DEFAULT_BUDGET_PERIOD,
  DEFAULT_TIME_ZONE,
  EXHAUSTED_EARLY_DENOMINATOR,
  EXHAUSTED_EARLY_NUMERATOR,
  exhaustedEarlyInLog,
  LIFETIME_PERIOD,
  periodsToEvaluate,
  type TimedSpend,
} from "@adpipe/core";
import { type LogPosition, type PeriodSpend, periodSpendByAdvertiser } from "@adpipe/warehouse";
import type { Pool, PoolClient } from "pg";
import { AlertsError } from "./errors.js";
import { queryConfig } from "./queries.js";

/** Where each alert is delivered: a Kafka topic, a webhook URL. */
export interface DeliveryTarget {
  readonly channel: "kafka" | "webhook";
  readonly destination: string;
}

export interface AlertEvaluatorOptions {
  readonly pool: Pool;
  readonly targets: readonly DeliveryTarget[];
  /** Thresholds of advertisers without their own (alerts.thresholds). Default 50, 80, 100. */
  readonly defaultThresholdsPct?: readonly number[];
  readonly budgetPeriod?: BudgetPeriod;
  readonly timeZone?: string;
  /**
   * Periods before the current one evaluated too (default 1): late clicks of the period just ended still count
   * toward it, so its alerts may fire after it ended.
   */
  readonly lookbackPeriods?: number;
  /**
   * Advertisers held back for pacing now (the tracker's Redis hashes with reason ahead_of_pace: readAheadOfPace of
   * @adpipe/spend-store). Absent: no ahead_of_pace alerts.
   */
  readonly aheadOfPace?: AheadOfPaceSource;
}

/** An advertiser currently ahead of pace, in its own budget period (pacing state lives in Redis only). */
export interface AheadOfPaceCandidate {
  readonly advertiserId: string;
  readonly periodId: string;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly netMicros: number;
  readonly budgetMicros: number;
}

export type AheadOfPaceSource = () => Promise<readonly AheadOfPaceCandidate[]>;

/** One alert fired by a pass. */
export interface FiredAlert {
  readonly eventId: string;
  readonly advertiserId: string;
  readonly periodId: string;
  readonly kind: AlertKind;
  readonly thresholdPct: number;
}

/** One advertiser's spend in one of its budget periods: the service-wide one, or that of its own calendar. */
interface AdvertiserPeriod {
  readonly row: PeriodSpend;
  readonly window: BudgetPeriodWindow;
  /** The record after which its period restarted (a calendar change); null: count from the period start. */
  readonly restartAt: LogPosition | null;
}

/** Where exhausted_early stops looking: 80 % of the period (EXHAUSTED_EARLY_NUMERATOR / _DENOMINATOR), rounded up. */
function exhaustedEarlyCutoffMs(window: BudgetPeriodWindow): number {
  const length = BigInt(window.endMs - window.startMs);
  const num = BigInt(EXHAUSTED_EARLY_NUMERATOR);
  const den = BigInt(EXHAUSTED_EARLY_DENOMINATOR);
  return window.startMs + Number((length * num + den - 1n) / den);
}

/**
 * The advertisers of `budgeted` whose exhausted_early alert the click log of their period calls for
 * (exhaustedEarlyInLog of @adpipe/core, against the budget in force) and has not fired yet. Lifetime budgets
 * have no period to be early in.
 */
async function exhaustedEarlyAdvertisers(
  client: PoolClient,
  budgeted: readonly AdvertiserPeriod[],
): Promise<Set<string>> {
  const early = new Set<string>();
  const periodic = budgeted.filter((p) => p.window.id !== LIFETIME_PERIOD.id);
  if (periodic.length === 0) return early;
  const { rows } = await client.query<{ advertiser_id: string; time_ms: string; net_micros: string }>(
    queryConfig("exhausted_early_spend", [
      periodic.map((p) => p.row.advertiserId),
      periodic.map((p) => p.window.id),
      periodic.map((p) => p.window.startMs),
      periodic.map((p) => exhaustedEarlyCutoffMs(p.window)),
      periodic.map((p) => p.restartAt?.topic ?? null),
      periodic.map((p) => p.restartAt?.generation ?? null),
      periodic.map((p) => p.restartAt?.partition ?? null),
      periodic.map((p) => p.restartAt?.offset ?? null),
    ]),
  );
  const logs = new Map<string, TimedSpend[]>();
  for (const row of rows) {
    let log = logs.get(row.advertiser_id);
    if (log === undefined) {
      log = [];
      logs.set(row.advertiser_id, log);
    }
    log.push({ timeMs: Number(row.time_ms), netMicros: Number(row.net_micros) });
  }
  for (const { row, window } of periodic) {
    const log = logs.get(row.advertiserId);
    if (log !== undefined && exhaustedEarlyInLog(log, row.budgetMicros, window.startMs, window.endMs))
      early.add(row.advertiserId);
  }
  return early;
}

/** A candidate alert before it fires. */
interface Candidate {
  readonly advertiserId: string;
  readonly advertiser: string | null;
  readonly kind: AlertKind;
  readonly thresholdPct: number;
  readonly netMicros: number;
  readonly budgetMicros: number | null;
}

/**
 * Detects budget alerts from Postgres (Silver's period spend and Gold's budget in force: durable, the same
 * whatever the real-time tracker or Redis went through) and fires each at most once, with its deliveries queued
 * in the same statement (alerts_fire). Safe to run from several replicas at once.
 */
export class AlertEvaluator {
  private readonly pool: Pool;
  private readonly targets: readonly DeliveryTarget[];
  private readonly defaults: readonly number[];
  private readonly period: BudgetPeriod;
  private readonly timeZone: string;
  private readonly lookback: number;
  private readonly aheadOfPace: AheadOfPaceSource | null;

  constructor(options: AlertEvaluatorOptions) {
    this.pool = options.pool;
    this.targets = options.targets;
    this.defaults = options.defaultThresholdsPct ?? DEFAULT_ALERT_THRESHOLDS_PCT;
    this.period = options.budgetPeriod ?? DEFAULT_BUDGET_PERIOD;
    this.timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
    this.lookback = options.lookbackPeriods ?? 1;
    this.aheadOfPace = options.aheadOfPace ?? null;
    if (!Number.isInteger(this.lookback) || this.lookback < 0 || this.lookback > 31)
      throw new AlertsError("options_invalid", "lookbackPeriods must be an integer in 0..31");
  }

  /**
   * One pass: evaluates the periods around nowMs and returns the alerts fired by it (none already fired). Each
   * advertiser is judged in its own calendar when it set one (budget_period / time_zone): its current period and
   * `lookbackPeriods` before it, counted from its last calendar change (clickPeriodOf of @adpipe/core), and its
   * alerts are filed under that period's id.
   */
  async evaluate(nowMs: number = Date.now()): Promise<FiredAlert[]> {
    const fired: FiredAlert[] = [];
    const service = periodsToEvaluate(nowMs, this.period, this.timeZone, this.lookback);
    for (let back = 0; back <= this.lookback; back++) {
      fired.push(...(await this.evaluatePeriods(nowMs, back, service[back] ?? null)));
    }
    if (this.aheadOfPace !== null) fired.push(...(await this.evaluateAheadOfPace(this.aheadOfPace)));
    return fired;
  }

  /**
   * ahead_of_pace: one alert per advertiser and period (threshold 0) the first time a pass sees it held back for
   * pacing; the fired_once key makes every later sighting (this period, any replica, after restarts or Redis
   * rebuilds) a no-op. Grouped by period, since each advertiser's hash carries its own calendar.
   */
  private async evaluateAheadOfPace(source: AheadOfPaceSource): Promise<FiredAlert[]> {
    const byPeriod = new Map<string, AheadOfPaceCandidate[]>();
    for (const candidate of await source()) {
      const key = `${candidate.periodId}\u0000${candidate.periodStartMs}\u0000${candidate.periodEndMs}`;
      const group = byPeriod.get(key);
      if (group === undefined) byPeriod.set(key, [candidate]);
      else group.push(candidate);
    }
    const fired: FiredAlert[] = [];
    for (const group of byPeriod.values()) {
      const first = group[0] as AheadOfPaceCandidate;
      fired.push(
        ...(await this.fire(
          { id: first.periodId, startMs: first.periodStartMs, endMs: first.periodEndMs },
          group.map((c) => ({
            advertiserId: c.advertiserId,
            advertiser: null,
            kind: "ahead_of_pace" as const,
            thresholdPct: 0,
            netMicros: c.netMicros,
            budgetMicros: c.budgetMicros,
          })),
        )),
      );
    }
    return fired;
  }

  /** Fires the candidates of one period not fired before, queueing their deliveries (alerts_fire). */
  private async fire(window: BudgetPeriodWindow, candidates: readonly Candidate[]): Promise<FiredAlert[]> {
    if (candidates.length === 0) return [];
    const { rows } = await this.pool.query<{
      event_id: string;
      advertiser_id: string;
      kind: AlertKind;
      threshold_pct: number;
    }>(
      queryConfig("alerts_fire", [
        window.id,
        window.startMs,
        window.endMs,
        candidates.map((c) => c.advertiserId),
        candidates.map((c) => c.advertiser),
        candidates.map((c) => c.kind),
        candidates.map((c) => c.thresholdPct),
        candidates.map((c) => c.netMicros),
        candidates.map((c) => c.budgetMicros),
        this.targets.map((t) => t.channel),
        this.targets.map((t) => t.destination),
      ]),
    );
    return rows.map((row) => ({
      eventId: row.event_id,
      advertiserId: row.advertiser_id,
      periodId: window.id,
      kind: row.kind,
      thresholdPct: row.threshold_pct,
    }));
  }

  /**
   * The periods `back` periods before the current one: the service-wide `window` (null: none, lifetime) for the
   * advertisers on the service-wide calendar, each own calendar's period for the others. The candidates are
   * fired grouped by period, each under its own id.
   */
  private async evaluatePeriods(
    nowMs: number,
    back: number,
    window: BudgetPeriodWindow | null,
  ): Promise<FiredAlert[]> {
    const client = await this.pool.connect();
    let periods: AdvertiserPeriod[];
    let own: Map<string, number[]>;
    let early: Set<string>;
    try {
      // Without a service-wide period here (lifetime looked back), an empty range still lists every budgeted
      // advertiser, and those with a calendar of their own get their own period's totals.
      const spend = await periodSpendByAdvertiser(client, {
        periodStartMs: window?.startMs ?? 0,
        periodEndMs: window?.endMs ?? 0,
        calendars: {
          defaults: { period: this.period, timeZone: this.timeZone },
          nowMs,
          periodsBack: back,
        },
      });
      periods = [];
      for (const row of spend) {
        if (row.calendar === undefined) {
          if (window !== null) periods.push({ row, window, restartAt: null });
        } else if (back === 0 || row.calendar.period !== "lifetime") {
          periods.push({ row, window: row.calendar.window, restartAt: row.calendar.restartAt });
        }
      }
      periods = periods.filter((p) => p.row.budgetMicros !== null && p.row.budgetMicros > 0);
      if (periods.length === 0) return [];
      const { rows } = await client.query<{ advertiser_id: string; thresholds_pct: number[] }>(
        queryConfig("alert_thresholds_read", [periods.map((p) => p.row.advertiserId)]),
      );
      own = new Map(rows.map((row) => [row.advertiser_id, row.thresholds_pct]));
      early = await exhaustedEarlyAdvertisers(client, periods);
    } finally {
      client.release();
    }
    const byWindow = new Map<string, { window: BudgetPeriodWindow; candidates: Candidate[] }>();
    for (const { row, window: period } of periods) {
      const kinds: { kind: AlertKind; thresholdPct: number }[] = crossedThresholds(
        row.netMicros,
        row.budgetMicros,
        own.get(row.advertiserId) ?? this.defaults,
      ).map((thresholdPct) => ({ kind: "budget_threshold", thresholdPct }));
      if (early.has(row.advertiserId)) kinds.push({ kind: "exhausted_early", thresholdPct: 0 });
      if (kinds.length === 0) continue;
      const key = `${period.id}\u0000${period.startMs}\u0000${period.endMs}`;
      let group = byWindow.get(key);
      if (group === undefined) {
        group = { window: period, candidates: [] };
        byWindow.set(key, group);
      }
      for (const { kind, thresholdPct } of kinds) {
        group.candidates.push({
          advertiserId: row.advertiserId,
          advertiser: row.advertiser,
          kind,
          thresholdPct,
          netMicros: row.netMicros,
          budgetMicros: row.budgetMicros,
        });
      }
    }
    const fired: FiredAlert[] = [];
    for (const { window: period, candidates } of byWindow.values())
      fired.push(...(await this.fire(period, candidates)));
    return fired;
  }
}
