import { type BudgetCalendar, shapeHistoryEndMs, trafficShapeOf } from "@adpipe/core";
import {
  type PartitionOffset,
  type PeriodWindow,
  type RestoreSnapshot,
  type SnapshotAdvertiser,
  SpendStoreError,
} from "@adpipe/spend-store";
import {
  periodClickIds,
  periodClickIdsInWindows,
  periodSpendByAdvertiser,
  readTopicGeneration,
  shapeHistory,
  storedOffsets,
} from "@adpipe/warehouse";
import type { Pool, PoolClient } from "pg";
import type { PeriodTotals } from "./reconcile.js";

export interface WarehouseSnapshot extends RestoreSnapshot {
  /** Period totals as the warehouse reports them (for reconciliation). */
  readonly totals: readonly PeriodTotals[];
  /** The warehouse's generation of the topic: the offsets belong to it. */
  readonly generation: number;
}

export interface WarehouseSnapshotOptions {
  readonly topic: string;
  readonly period: PeriodWindow;
  /** The ingestor's consumer group, under which the warehouse stores its offsets. Default: the warehouse's. */
  readonly pipeline?: string;
  /** Also read the click_ids of the period (needed for a rebuild, not for reconciliation). Default true. */
  readonly withClickIds?: boolean;
  /**
   * Advertisers with a calendar of their own get their own period of `nowMs` (clickPeriodOf), its totals
   * counted from their last change of calendar, and their calendar fields. Absent: every advertiser is read in
   * `period` and no calendar is restored.
   */
  readonly calendars?: { readonly defaults: BudgetCalendar; readonly nowMs: number };
  /**
   * Learn the traffic shape of every `shaped` advertiser as of `atMs` (Gold's last 7 days, in its own time zone,
   * else `timeZone`), as the tracker's shape refresh does, so a rebuilt hash paces by its shape at once. Absent:
   * no shapes (reconciliation).
   */
  readonly shapes?: { readonly atMs: number; readonly timeZone: string };
}

const DAY_MS = 86_400_000;

function safeInt(text: string | number | null, what: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new SpendStoreError("unsafe_integer", `warehouse ${what}: ${String(text)}`);
  return value;
}

/**
 * Period totals, click_ids and consumed offsets from the warehouse, read in ONE repeatable-read snapshot so
 * that the totals are exactly those of the records below the offsets: the tracker resumes from there.
 */
export async function loadWarehouseSnapshot(
  pool: Pool,
  options: WarehouseSnapshotOptions,
): Promise<WarehouseSnapshot> {
  const { period, topic } = options;
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw new SpendStoreError("rebuild_failed", "cannot connect to Postgres for the warehouse snapshot", {
      cause,
    });
  }
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const rows = await periodSpendByAdvertiser(client, {
      periodStartMs: period.startMs,
      periodEndMs: period.endMs,
      ...(options.calendars === undefined ? {} : { calendars: options.calendars }),
    });
    const stored = await storedOffsets(
      client,
      options.pipeline === undefined ? { topic } : { topic, pipeline: options.pipeline },
    );
    const { generation } = await readTopicGeneration(client, topic);
    // Advertisers with their own calendar dedup by UTC day (as the tracker does): the click ids of the UTC days
    // their own period touches.
    const ownWindows = rows.flatMap((row) =>
      row.calendar === undefined
        ? []
        : [
            {
              advertiserId: row.advertiserId,
              startMs: Math.floor(row.calendar.window.startMs / DAY_MS) * DAY_MS,
              endMs: Math.ceil(row.calendar.window.endMs / DAY_MS) * DAY_MS,
            },
          ],
    );
    const own = new Set(ownWindows.map((w) => w.advertiserId));
    const clickRows =
      options.withClickIds === false
        ? []
        : [
            ...(
              await periodClickIds(client, { periodStartMs: period.startMs, periodEndMs: period.endMs })
            ).filter((row) => !own.has(row.advertiser_id)),
            ...(await periodClickIdsInWindows(client, ownWindows)),
          ];
    const shapes = new Map<string, number[] | null>();
    if (options.shapes !== undefined) {
      const shaped = rows.filter((row) => row.pacing === "shaped");
      const endMs = shapeHistoryEndMs(options.shapes.atMs);
      const history = await shapeHistory(
        client,
        shaped.map((row) => row.advertiserId),
        endMs,
      );
      for (const row of shaped) {
        const timeZone = row.calendar?.timeZone ?? options.shapes.timeZone;
        shapes.set(row.advertiserId, trafficShapeOf(history.get(row.advertiserId) ?? [], timeZone, endMs));
      }
    }
    await client.query("COMMIT");

    const clickIds = new Map<string, { clickId: string; eventTimeMs: number }[]>();
    for (const row of clickRows) {
      let list = clickIds.get(row.advertiser_id);
      if (list === undefined) {
        list = [];
        clickIds.set(row.advertiser_id, list);
      }
      list.push({ clickId: row.click_id, eventTimeMs: safeInt(row.event_ms, "click event time") });
    }
    const totals: PeriodTotals[] = rows.map((row) => ({
      advertiserId: row.advertiserId,
      netMicros: safeInt(row.netMicros, "net micros"),
      grossMicros: safeInt(row.grossMicros, "gross micros"),
      clicks: safeInt(row.clicks, "clicks"),
      budgetMicros: row.budgetMicros === null ? null : safeInt(row.budgetMicros, "budget micros"),
      budgetSource: row.budgetSource,
      overCapMicros: safeInt(row.overCapMicros, "over_cap micros"),
      // No explicit mode in the warehouse is observe, as Redis reads a hash without a mode field.
      mode: row.mode ?? "observe",
      ...(row.calendar === undefined ? {} : { periodStartMs: row.calendar.window.startMs }),
    }));
    const advertisers: SnapshotAdvertiser[] = rows.map((row, i) => ({
      ...(totals[i] as PeriodTotals),
      budgetEventTimeMs:
        row.budgetEventTimeMs === null ? null : safeInt(row.budgetEventTimeMs, "budget time"),
      mode: row.mode,
      modeEventTimeMs: row.modeEventTimeMs === null ? null : safeInt(row.modeEventTimeMs, "mode time"),
      pacing: row.pacing,
      pacingEventTimeMs:
        row.pacingEventTimeMs === null ? null : safeInt(row.pacingEventTimeMs, "pacing time"),
      clickIds: clickIds.get(row.advertiserId) ?? [],
      ...(shapes.has(row.advertiserId) ? { shape: shapes.get(row.advertiserId) ?? null } : {}),
      ...(row.calendar === undefined
        ? {}
        : {
            calendar: {
              period: row.calendar.period,
              timeZone: row.calendar.timeZone,
              periodEventTimeMs: row.calendar.periodEventTimeMs,
              zoneEventTimeMs: row.calendar.zoneEventTimeMs,
              window: row.calendar.window,
            },
          }),
    }));
    const offsets: PartitionOffset[] = stored.map((entry) => ({
      partition: entry.partition,
      offset: safeInt(entry.offset, "offset"),
    }));
    return { period, advertisers, offsets, totals, generation };
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => undefined);
    if (cause instanceof SpendStoreError) throw cause;
    throw new SpendStoreError("rebuild_failed", "reading the warehouse snapshot failed", { cause });
  } finally {
    client.release();
  }
}
