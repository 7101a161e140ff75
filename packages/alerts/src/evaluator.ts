import {
  type AlertKind,
  type BudgetPeriod,
  type BudgetPeriodWindow,
  budgetPeriodOf,
  crossedThresholds,
  DEFAULT_ALERT_THRESHOLDS_PCT,
  DEFAULT_BUDGET_PERIOD,
  DEFAULT_TIME_ZONE,
  EXHAUSTED_EARLY_DENOMINATOR,
  EXHAUSTED_EARLY_NUMERATOR,
  exhaustedEarlyInLog,
  LIFETIME_PERIOD,
  type TimedSpend,
} from "@adpipe/core";
import { type PeriodSpend, periodSpendByAdvertiser } from "@adpipe/warehouse";
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

/** The periods a pass at nowMs evaluates: the current one, then `lookback` before it (one for lifetime). */
export function periodsToEvaluate(
  nowMs: number,
  period: BudgetPeriod,
  timeZone: string,
  lookback: number,
): BudgetPeriodWindow[] {
  if (period === "lifetime") return [LIFETIME_PERIOD];
  const windows = [budgetPeriodOf(nowMs, period, timeZone)];
  for (let i = 0; i < lookback; i++) {
    const earliest = windows[windows.length - 1] as BudgetPeriodWindow;
    windows.push(budgetPeriodOf(earliest.startMs - 1, period, timeZone));
  }
  return windows;
}

/**
 * The advertisers of `budgeted` whose exhausted_early alert the period's click log calls for (exhaustedEarlyInLog
 * of @adpipe/core, against the budget in force) and has not fired yet. Lifetime budgets have no period to be
 * early in.
 */
async function exhaustedEarlyAdvertisers(
  client: PoolClient,
  window: BudgetPeriodWindow,
  budgeted: readonly PeriodSpend[],
): Promise<Set<string>> {
  const early = new Set<string>();
  if (window.id === LIFETIME_PERIOD.id || budgeted.length === 0) return early;
  const length = BigInt(window.endMs - window.startMs);
  const num = BigInt(EXHAUSTED_EARLY_NUMERATOR);
  const den = BigInt(EXHAUSTED_EARLY_DENOMINATOR);
  const cutoffMs = window.startMs + Number((length * num + den - 1n) / den);
  const { rows } = await client.query<{ advertiser_id: string; time_ms: string; net_micros: string }>(
    queryConfig("exhausted_early_spend", [
      window.id,
      window.startMs,
      cutoffMs,
      budgeted.map((row) => row.advertiserId),
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
  for (const row of budgeted) {
    const log = logs.get(row.advertiserId);
    if (log !== undefined && exhaustedEarlyInLog(log, row.budgetMicros, window.startMs, window.endMs))
      early.add(row.advertiserId);
  }
  return early;
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

  /** One pass: evaluates the periods around nowMs and returns the alerts fired by it (none already fired). */
  async evaluate(nowMs: number = Date.now()): Promise<FiredAlert[]> {
    const fired: FiredAlert[] = [];
    for (const window of periodsToEvaluate(nowMs, this.period, this.timeZone, this.lookback)) {
      fired.push(...(await this.evaluatePeriod(window)));
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
  private async fire(
    window: BudgetPeriodWindow,
    candidates: readonly {
      advertiserId: string;
      advertiser: string | null;
      kind: AlertKind;
      thresholdPct: number;
      netMicros: number;
      budgetMicros: number | null;
    }[],
  ): Promise<FiredAlert[]> {
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

  private async evaluatePeriod(window: BudgetPeriodWindow): Promise<FiredAlert[]> {
    const client = await this.pool.connect();
    let spend: PeriodSpend[];
    let own: Map<string, number[]>;
    let early: Set<string>;
    try {
      spend = await periodSpendByAdvertiser(client, {
        periodStartMs: window.startMs,
        periodEndMs: window.endMs,
      });
      const budgeted = spend.filter((row) => row.budgetMicros !== null && row.budgetMicros > 0);
      if (budgeted.length === 0) return [];
      const { rows } = await client.query<{ advertiser_id: string; thresholds_pct: number[] }>(
        queryConfig("alert_thresholds_read", [budgeted.map((row) => row.advertiserId)]),
      );
      own = new Map(rows.map((row) => [row.advertiser_id, row.thresholds_pct]));
      early = await exhaustedEarlyAdvertisers(client, window, budgeted);
    } finally {
      client.release();
    }
    const candidates: { row: PeriodSpend; kind: AlertKind; thresholdPct: number }[] = spend.flatMap((row) =>
      crossedThresholds(row.netMicros, row.budgetMicros, own.get(row.advertiserId) ?? this.defaults).map(
        (thresholdPct) => ({ row, kind: "budget_threshold" as const, thresholdPct }),
      ),
    );
    for (const row of spend)
      if (early.has(row.advertiserId)) candidates.push({ row, kind: "exhausted_early", thresholdPct: 0 });
    return this.fire(
      window,
      candidates.map((c) => ({
        advertiserId: c.row.advertiserId,
        advertiser: c.row.advertiser,
        kind: c.kind,
        thresholdPct: c.thresholdPct,
        netMicros: c.row.netMicros,
        budgetMicros: c.row.budgetMicros,
      })),
    );
  }
}
