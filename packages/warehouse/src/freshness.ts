import type { ClientBase, Pool } from "pg";
import { queryConfig } from "./queries.js";

/** Gold rows whose newest event is dated after now (a producer's clock or time zone is wrong). */
export interface FutureEvents {
  readonly rows: number;
  readonly advertisers: number;
  /** The furthest event time ahead of now, ISO 8601. */
  readonly newestEventAt: string;
  /** How far that is ahead of now, in seconds (> 0). */
  readonly aheadSeconds: number;
}

export interface GoldFreshness {
  /** Now minus the newest non-future event time in Gold (>= 0); null when Gold has no such event. */
  readonly freshnessSeconds: number | null;
  readonly newestEventAt: string | null;
  /** Future-dated rows, reported apart (never folded into freshness); null when there are none. */
  readonly future: FutureEvents | null;
  /** The database clock the figures are measured against, ISO 8601. */
  readonly measuredAt: string;
}

/**
 * Future-dated events ahead by more than this are worth a warning on a dashboard: below it, ordinary clock
 * skew between producers and the database.
 */
export const FUTURE_EVENTS_WARNING_SECONDS = 5;

/** Gold freshness measured from the newest event not dated in the future, and the future-dated rows apart. */
export async function readGoldFreshness(client: ClientBase | Pool): Promise<GoldFreshness> {
  const { rows } = await client.query<{
    newest_event: Date | null;
    future_rows: string;
    future_advertisers: string;
    future_newest: Date | null;
    db_now: Date;
  }>(queryConfig("gold_freshness", []));
  const row = rows[0];
  if (row === undefined) throw new Error("gold_freshness returned no row");
  const now = row.db_now.getTime();
  const futureRows = Number(row.future_rows);
  return {
    freshnessSeconds: row.newest_event === null ? null : (now - row.newest_event.getTime()) / 1_000,
    newestEventAt: row.newest_event?.toISOString() ?? null,
    future:
      futureRows === 0 || row.future_newest === null
        ? null
        : {
            rows: futureRows,
            advertisers: Number(row.future_advertisers),
            newestEventAt: row.future_newest.toISOString(),
            aheadSeconds: (row.future_newest.getTime() - now) / 1_000,
          },
    measuredAt: row.db_now.toISOString(),
  };
}
