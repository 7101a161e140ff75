import type { ClientBase, Pool } from "pg";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

/** Row counts of one UTC hour. Record-time columns and event-time columns: see sql/queries/hourly_counts.sql. */
export interface HourlyCounts {
  readonly hourMs: number;
  /** Record time (Kafka timestamp). */
  readonly bronze: number;
  readonly rejected: number;
  readonly silver: number;
  readonly duplicates: number;
  /** Event time (Gold window). */
  readonly silverClicks: number;
  readonly goldClicks: number;
  readonly goldRows: number;
  /** What does not add up in this hour (empty when consistent). */
  readonly problems: readonly string[];
}

/** Longest range counts accepts (one row per hour). */
export const MAX_COUNT_HOURS = 24 * 366;

/** Per-hour row counts per layer for hours starting in [fromMs, toMs), with the inconsistencies found. */
export async function hourlyCounts(
  client: ClientBase | Pool,
  range: { fromMs: number; toMs: number },
): Promise<HourlyCounts[]> {
  const { fromMs, toMs } = range;
  if (!(Number.isSafeInteger(fromMs) && Number.isSafeInteger(toMs) && fromMs < toMs)) {
    throw new WarehouseError("range_invalid", "counts needs integer epoch-ms bounds with from < to");
  }
  if ((toMs - fromMs) / 3_600_000 > MAX_COUNT_HOURS) {
    throw new WarehouseError("range_invalid", `counts covers at most ${MAX_COUNT_HOURS} hours per call`);
  }
  const { rows } = await client.query<Record<string, string>>(queryConfig("hourly_counts", [fromMs, toMs]));
  return rows.map((row) => {
    const n = (name: string): number => Number(row[name] ?? 0);
    const counts = {
      hourMs: n("hour_ms"),
      bronze: n("bronze"),
      rejected: n("rejected"),
      silver: n("silver"),
      duplicates: n("duplicates"),
      silverClicks: n("silver_clicks"),
      goldClicks: n("gold_clicks"),
      goldRows: n("gold_rows"),
    };
    const problems: string[] = [];
    const derived = counts.rejected + counts.silver + counts.duplicates;
    if (derived !== counts.bronze)
      problems.push(`bronze ${counts.bronze} != rejected + silver + duplicates ${derived}`);
    if (counts.silverClicks !== counts.goldClicks) {
      problems.push(`silver clicks ${counts.silverClicks} != gold clicks ${counts.goldClicks}`);
    }
    return { ...counts, problems };
  });
}
