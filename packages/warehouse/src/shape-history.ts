import { type HourlySpend, MS_PER_DAY, SHAPE_HISTORY_DAYS } from "@adpipe/core";
import type { ClientBase, Pool } from "pg";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

/**
 * Gold's hourly net spend of the last SHAPE_HISTORY_DAYS days before `endMs` (UTC hours starting in
 * [endMs - 7 days, endMs)), per advertiser, for shaped pacing's traffic shape (trafficShapeOf in @adpipe/core).
 * One query for all advertisers; an advertiser without Gold rows maps to [].
 */
export async function shapeHistory(
  db: Pool | ClientBase,
  advertiserIds: readonly string[],
  endMs: number,
): Promise<Map<string, HourlySpend[]>> {
  if (!Number.isSafeInteger(endMs))
    throw new WarehouseError("range_invalid", "endMs must be an epoch-ms integer");
  const history = new Map<string, HourlySpend[]>(advertiserIds.map((id) => [id, []]));
  if (advertiserIds.length === 0) return history;
  const { rows } = await db.query<{ advertiser_id: string; hour_ms: string; net_micros: string }>(
    queryConfig("gold_hourly_spend_shape", [advertiserIds, endMs - SHAPE_HISTORY_DAYS * MS_PER_DAY, endMs]),
  );
  for (const row of rows) {
    const hourStartMs = Number(row.hour_ms);
    const netMicros = Number(row.net_micros);
    if (!Number.isSafeInteger(hourStartMs) || !Number.isSafeInteger(netMicros))
      throw new WarehouseError(
        "query_invalid",
        `gold hour ${row.hour_ms} / ${row.net_micros} is not an integer`,
      );
    history.get(row.advertiser_id)?.push({ hourStartMs, netMicros });
  }
  return history;
}
