import {
  type BudgetMode,
  type BudgetObservation,
  type BudgetPeriod,
  type BudgetSource,
  billableMicros,
  budgetPeriodOf,
  DEFAULT_BUDGET_PERIOD,
  DEFAULT_TIME_ZONE,
  type ModeObservation,
  supersedesBudget,
  supersedesMode,
} from "@adpipe/core";
import type { ClientBase } from "pg";
import type { DerivedRecord, GoldContribution } from "./derive.js";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

const MS_PER_HOUR = 3_600_000;

/** Budget period settings of the clamp (the same as can_serve's). */
export interface BillingRules {
  budgetPeriod?: BudgetPeriod;
  timeZone?: string;
}

/** What the clamp knows of one advertiser at a place in the log. */
export interface AdvertiserBilling {
  budget: BudgetObservation | null;
  mode: ModeObservation | null;
  /** Billable net so far per budget period, by period start (epoch ms). */
  readonly billableByPeriod: Map<number, number>;
}

/** The (advertiser, budget period) pairs whose billable net a batch's non-duplicate clicks need. */
export interface BillingRequest {
  readonly advertiserIds: string[];
  readonly periodStartMs: number[];
  readonly periodEndMs: number[];
  /** Whether a period bound cuts through a UTC hour (Gold's window), so Silver must complete Gold's sums. */
  readonly straddles: boolean[];
  /** Whether the batch sets the advertiser's mode (its billable so far matters even if it is in observe now). */
  readonly setsMode: boolean[];
}

/** A click that bills: a non-duplicate contribution (duplicates add only their count, never spend). */
function billsSpend(contribution: GoldContribution | null): contribution is GoldContribution {
  return contribution !== null && contribution.duplicateClicks === 0;
}

/** The periods the batch's clicks fall in, each once; null when the batch has no click to bill. */
export function billingRequest(
  records: readonly DerivedRecord[],
  rules: BillingRules,
): BillingRequest | null {
  const period = rules.budgetPeriod ?? DEFAULT_BUDGET_PERIOD;
  const timeZone = rules.timeZone ?? DEFAULT_TIME_ZONE;
  const seen = new Set<string>();
  const modeSetters = new Set<string>();
  for (const r of records)
    if (r.budget !== null && r.budgetMode !== null) modeSetters.add(r.budget.advertiserId);
  const request: BillingRequest = {
    advertiserIds: [],
    periodStartMs: [],
    periodEndMs: [],
    straddles: [],
    setsMode: [],
  };
  for (const { contribution: c } of records) {
    if (!billsSpend(c)) continue;
    const window = budgetPeriodOf(c.eventTimeMs, period, timeZone);
    const key = `${c.advertiserId}\u0000${window.startMs}`;
    if (seen.has(key)) continue;
    seen.add(key);
    request.advertiserIds.push(c.advertiserId);
    request.periodStartMs.push(window.startMs);
    request.periodEndMs.push(window.endMs);
    request.straddles.push(window.startMs % MS_PER_HOUR !== 0 || window.endMs % MS_PER_HOUR !== 0);
    request.setsMode.push(modeSetters.has(c.advertiserId));
  }
  return request.advertiserIds.length === 0 ? null : request;
}

function safeMicros(value: string, what: string): number {
  const micros = Number(value);
  if (!Number.isSafeInteger(micros)) {
    throw new WarehouseError("batch_invalid", `${what} is not a safe integer of micros: ${value}`);
  }
  return micros;
}

/**
 * Reads the clamp's state before a batch (sql/queries/billing_state.sql, one round trip): per advertiser the
 * budget and mode in force and the billable net of each requested period (0, unread, for an advertiser in observe
 * whose mode the batch leaves as it is: observe bills in full whatever the period has billed). `loggedBeforeMs` null: everything
 * stored precedes the batch (the ingestor); a reprocess passes its range's end.
 */
export async function readBillingState(
  client: ClientBase,
  request: BillingRequest,
  loggedBeforeMs: number | null,
): Promise<Map<string, AdvertiserBilling>> {
  const { rows } = await client.query<{
    advertiser_id: string;
    period_start_ms: string;
    billable_micros: string;
    budget_micros: string | null;
    budget_event_ms: string | null;
    budget_source: BudgetSource | null;
    budget_mode: BudgetMode | null;
    mode_event_ms: string | null;
  }>(
    queryConfig("billing_state", [
      request.advertiserIds,
      request.periodStartMs,
      request.periodEndMs,
      request.straddles,
      request.setsMode,
      loggedBeforeMs,
    ]),
  );
  const states = new Map<string, AdvertiserBilling>();
  for (const row of rows) {
    let state = states.get(row.advertiser_id);
    if (state === undefined) {
      state = {
        budget:
          row.budget_micros === null || row.budget_source === null
            ? null
            : {
                advertiserId: row.advertiser_id,
                budgetMicros: safeMicros(row.budget_micros, "a budget"),
                eventTimeMs: Number(row.budget_event_ms),
                source: row.budget_source,
              },
        mode:
          row.budget_mode === null ? null : { mode: row.budget_mode, eventTimeMs: Number(row.mode_event_ms) },
        billableByPeriod: new Map(),
      };
      states.set(row.advertiser_id, state);
    }
    state.billableByPeriod.set(
      Number(row.period_start_ms),
      safeMicros(row.billable_micros, "a period's billable net"),
    );
  }
  return states;
}

/**
 * Bills the batch's clicks by the clamp, in partition order (the records' order): each budget observation moves
 * its advertiser's budget (supersedesBudget) and mode (supersedesMode) before any later record, and each
 * non-duplicate click's net is split by billableMicros into its billable part (the contribution's netMicros)
 * and over_cap, against the budget and mode in force at its place and its own period's billable net so far.
 * Pure: `states` (from readBillingState) is advanced in place; records whose split changes are copied.
 */
export function billRecords(
  records: readonly DerivedRecord[],
  states: ReadonlyMap<string, AdvertiserBilling>,
  rules: BillingRules,
): DerivedRecord[] {
  const period = rules.budgetPeriod ?? DEFAULT_BUDGET_PERIOD;
  const timeZone = rules.timeZone ?? DEFAULT_TIME_ZONE;
  return records.map((record) => {
    if (record.budget !== null) {
      const state = states.get(record.budget.advertiserId);
      if (state !== undefined) {
        if (supersedesBudget(state.budget, record.budget)) state.budget = record.budget;
        if (record.budgetMode !== null) {
          const mode = { mode: record.budgetMode, eventTimeMs: record.budget.eventTimeMs };
          if (supersedesMode(state.mode, mode)) state.mode = mode;
        }
      }
    }
    const c = record.contribution;
    if (!billsSpend(c)) return record;
    const state = states.get(c.advertiserId);
    if (state === undefined) {
      throw new WarehouseError("batch_invalid", `no billing state read for advertiser ${c.advertiserId}`);
    }
    const periodStartMs = budgetPeriodOf(c.eventTimeMs, period, timeZone).startMs;
    const sofar = state.billableByPeriod.get(periodStartMs) ?? 0;
    const billable = billableMicros(
      state.mode?.mode ?? "observe",
      state.budget?.budgetMicros ?? null,
      sofar,
      c.netMicros,
    );
    state.billableByPeriod.set(periodStartMs, sofar + billable);
    if (billable === c.netMicros) return record;
    return { ...record, contribution: { ...c, netMicros: billable, overCapMicros: c.netMicros - billable } };
  });
}

/** Reads the clamp's state and bills the batch (one round trip; none when the batch has no click). */
export async function billBatch(
  client: ClientBase,
  records: DerivedRecord[],
  rules: BillingRules,
  loggedBeforeMs: number | null = null,
): Promise<DerivedRecord[]> {
  const request = billingRequest(records, rules);
  if (request === null) return records;
  return billRecords(records, await readBillingState(client, request, loggedBeforeMs), rules);
}
