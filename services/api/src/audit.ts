import type { AuditEntryBody } from "@adpipe/api-contract";
import type { BudgetPeriod } from "@adpipe/core";
import type { BudgetMode, PacingMode } from "@adpipe/serving-client";
import type { Pool, PoolClient } from "pg";
import { apiQueries } from "./sql.js";

export const AUDIT_ACTIONS = ["set_budget", "pause", "resume"] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditRecord {
  readonly advertiserId: string;
  readonly action: AuditAction;
  readonly oldBudgetMicros: number | null;
  readonly newBudgetMicros: number | null;
  /** The tracker's mode when the change was asked (null = unknown). */
  readonly oldMode: BudgetMode | null;
  /** The mode a budget change set (null = none set: the mode stayed as it was; pause and resume). */
  readonly newMode: BudgetMode | null;
  /** The tracker's calendar when the change was asked (null = unknown), and what the change set (null = none). */
  readonly oldBudgetPeriod: string | null;
  readonly newBudgetPeriod: string | null;
  readonly oldTimeZone: string | null;
  readonly newTimeZone: string | null;
  /** The tracker's pacing when the change was asked (null = unknown). */
  readonly oldPacing: PacingMode | null;
  /** The pacing a budget change set (null = none set: the pacing stayed as it was; pause and resume). */
  readonly newPacing: PacingMode | null;
  readonly period: string | null;
  /** The token identity that asked. */
  readonly actor: string;
  readonly source: string;
  readonly eventId: string | null;
  readonly requestId: string | null;
  readonly note: string | null;
}

interface AuditRow {
  id: string;
  advertiser_id: string;
  action: AuditAction;
  old_budget_micros: string | null;
  new_budget_micros: string | null;
  old_mode: BudgetMode | null;
  new_mode: BudgetMode | null;
  old_budget_period: BudgetPeriod | null;
  new_budget_period: BudgetPeriod | null;
  old_time_zone: string | null;
  new_time_zone: string | null;
  old_pacing: PacingMode | null;
  new_pacing: PacingMode | null;
  period: string | null;
  actor: string;
  source: string;
  event_id: string | null;
  note: string | null;
  created_at: Date;
}

export async function insertAudit(client: PoolClient, record: AuditRecord): Promise<{ id: string }> {
  const { rows } = await client.query<{ id: string }>(
    apiQueries.prepared("audit_insert", [
      record.advertiserId,
      record.action,
      record.oldBudgetMicros,
      record.newBudgetMicros,
      record.period,
      record.actor,
      record.source,
      record.eventId,
      record.requestId,
      record.note,
      record.oldMode,
      record.newMode,
      record.oldBudgetPeriod,
      record.newBudgetPeriod,
      record.oldTimeZone,
      record.newTimeZone,
      record.oldPacing,
      record.newPacing,
    ]),
  );
  const row = rows[0];
  if (row === undefined) throw new Error("audit insert returned no row");
  return { id: row.id };
}

function micros(text: string | null): number | null {
  return text === null ? null : Number(text);
}

export async function listAudit(
  pool: Pool,
  advertiserId: string,
  beforeId: string | null,
  limit: number,
): Promise<{ items: AuditEntryBody[]; nextBeforeId: string | null }> {
  const { rows } = await pool.query<AuditRow>(
    apiQueries.prepared("audit_list", [advertiserId, beforeId, limit + 1]),
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((row) => ({
      id: row.id,
      advertiser_id: row.advertiser_id,
      action: row.action,
      old_budget_micros: micros(row.old_budget_micros),
      new_budget_micros: micros(row.new_budget_micros),
      old_mode: row.old_mode,
      new_mode: row.new_mode,
      old_budget_period: row.old_budget_period,
      new_budget_period: row.new_budget_period,
      old_time_zone: row.old_time_zone,
      new_time_zone: row.new_time_zone,
      old_pacing: row.old_pacing,
      new_pacing: row.new_pacing,
      period: row.period,
      actor: row.actor,
      source: row.source,
      event_id: row.event_id,
      note: row.note,
      created_at: row.created_at.toISOString(),
    })),
    nextBeforeId: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** Runs `work` in a transaction on one pooled connection: an exception rolls back the audit row. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    // A connection that cannot even roll back is discarded instead of returned to the pool.
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
