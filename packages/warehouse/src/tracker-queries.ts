import { BUDGET_MODES, BUDGET_SOURCES, type BudgetMode, type BudgetSource } from "@adpipe/core";
import type { ClientBase, Pool } from "pg";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

/** Period totals of one advertiser, for the real-time tracker's Redis rebuild. */
export interface PeriodSpend {
  readonly advertiserId: string;
  readonly advertiser: string;
  /** Billable net (billableMicros) of the non-duplicate clicks with event time in the period. */
  readonly netMicros: number;
  /** The rest of their net: what hard_cap put beyond the budget (never billed). */
  readonly overCapMicros: number;
  /** Non-duplicate clicks with a usable amount, valid or not. */
  readonly grossMicros: number;
  /** Non-duplicate clicks in the period, valid + invalid (the oracle's ServingState.clicks). */
  readonly clicks: number;
  /** Budget in force over all observations (supersedesBudget in @adpipe/core); null when none. */
  readonly budgetMicros: number | null;
  readonly budgetEventTimeMs: number | null;
  readonly budgetSource: BudgetSource | null;
  /** Budget mode in force over all observations (supersedesMode); null when no update set one (observe). */
  readonly mode: BudgetMode | null;
  readonly modeEventTimeMs: number | null;
}

function safeInteger(text: string | null, what: string): number | null {
  if (text === null) return null;
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new WarehouseError("query_invalid", `${what} is not a safe integer: ${text}`);
  return value;
}

function budgetSourceOf(text: string | null): BudgetSource | null {
  if (text === null) return null;
  if (!(BUDGET_SOURCES as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown budget source: ${text}`);
  return text as BudgetSource;
}

function budgetModeOf(text: string | null): BudgetMode | null {
  if (text === null) return null;
  if (!(BUDGET_MODES as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown budget mode: ${text}`);
  return text as BudgetMode;
}

/**
 * Per advertiser, the spend of the budget period [periodStartMs, periodEndMs) from Silver and the budget in force.
 * For a rebuild consistent with storedOffsets, call both inside one REPEATABLE READ transaction (see
 * readRebuildSnapshot).
 */
export async function periodSpendByAdvertiser(
  client: ClientBase,
  range: { periodStartMs: number; periodEndMs: number },
): Promise<PeriodSpend[]> {
  if (!(Number.isSafeInteger(range.periodStartMs) && Number.isSafeInteger(range.periodEndMs))) {
    throw new WarehouseError("range_invalid", "period bounds must be epoch-ms integers");
  }
  const { rows } = await client.query<{
    advertiser_id: string;
    advertiser: string;
    net_micros: string;
    gross_micros: string;
    clicks: string;
    budget_micros: string | null;
    budget_event_ms: string | null;
    budget_source: string | null;
    over_cap_micros: string;
    budget_mode: string | null;
    mode_event_ms: string | null;
  }>(queryConfig("period_spend_by_advertiser", [range.periodStartMs, range.periodEndMs]));
  return rows.map((row) => ({
    advertiserId: row.advertiser_id,
    advertiser: row.advertiser,
    netMicros: safeInteger(row.net_micros, "net_micros") ?? 0,
    grossMicros: safeInteger(row.gross_micros, "gross_micros") ?? 0,
    clicks: safeInteger(row.clicks, "clicks") ?? 0,
    budgetMicros: safeInteger(row.budget_micros, "budget_micros"),
    budgetEventTimeMs: safeInteger(row.budget_event_ms, "budget_event_ms"),
    budgetSource: budgetSourceOf(row.budget_source),
    overCapMicros: safeInteger(row.over_cap_micros, "over_cap_micros") ?? 0,
    mode: budgetModeOf(row.budget_mode),
    modeEventTimeMs: safeInteger(row.mode_event_ms, "mode_event_ms"),
  }));
}

/** One click_id Silver counted: `event_ms` is its event time in epoch ms, as text (bigint). */
export interface PeriodClickIdRow {
  readonly advertiser_id: string;
  readonly click_id: string;
  readonly event_ms: string;
}

/**
 * The click_ids Silver counted with event time in the budget period [periodStartMs, periodEndMs): a rebuild of the
 * Redis state puts them back into the dedup sets. The rows as pg returns them, not copied: a period can hold
 * millions.
 */
export async function periodClickIds(
  client: ClientBase,
  range: { periodStartMs: number; periodEndMs: number },
): Promise<PeriodClickIdRow[]> {
  const { rows } = await client.query<PeriodClickIdRow>(
    queryConfig("period_click_ids", [range.periodStartMs, range.periodEndMs]),
  );
  return rows;
}

/**
 * The next offset to read per partition of a topic, as committed by the ingestor (group `pipeline`), and the
 * generation of the topic's log that offset belongs to.
 */
export async function storedOffsets(
  client: ClientBase,
  options: { topic: string; pipeline?: string },
): Promise<{ partition: number; offset: string; generation: number }[]> {
  const { rows } = await client.query<{ partition: number; next_offset: string; generation: number }>(
    queryConfig("stored_offsets", [options.pipeline ?? DEFAULT_PIPELINE, options.topic]),
  );
  return rows.map((row) => ({
    partition: row.partition,
    offset: row.next_offset,
    generation: row.generation,
  }));
}

/** The ingestor's default consumer group id, under which it stores offsets. */
export const DEFAULT_PIPELINE = "adpipe-ingestor";

/**
 * Period spend and the ingestor's offsets read from one snapshot (REPEATABLE READ, read only): the spend is
 * exactly what the records below those offsets produced, so a tracker can rebuild from it and resume there.
 */
export async function readRebuildSnapshot(
  pool: Pool,
  options: { topic: string; pipeline?: string; periodStartMs: number; periodEndMs: number },
): Promise<{ spend: PeriodSpend[]; offsets: { partition: number; offset: string; generation: number }[] }> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const offsets = await storedOffsets(client, options);
    const spend = await periodSpendByAdvertiser(client, options);
    await client.query("COMMIT");
    return { spend, offsets };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
