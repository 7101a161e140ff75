import type { ClientBase, Pool } from "pg";
import { queryConfig } from "./queries.js";

const MS_PER_DAY = 86_400_000;

/** UTC day (YYYY-MM-DD) of an epoch-ms time. */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / MS_PER_DAY) * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Creates any missing day partitions (Bronze and Silver) for [firstDayMs, lastDayMs]'s UTC days.
 * Runs outside the batch transaction (it takes its own advisory lock); returns how many were created.
 */
export async function ensureDayPartitions(
  client: ClientBase,
  firstDayMs: number,
  lastDayMs: number,
): Promise<number> {
  const { rows } = await client.query<{ created: number }>(
    queryConfig("ensure_day_partitions", [utcDay(firstDayMs), utcDay(lastDayMs)]),
  );
  return rows[0]?.created ?? 0;
}

/**
 * Remembers which days have partitions so the hot path asks Postgres only when a batch brings a new day.
 * Days are ensured in contiguous runs (gaps between batch days are filled too: cheap and keeps ranges whole).
 */
export class PartitionCache {
  private readonly known = new Set<number>();

  /** The UTC day numbers of the given record times that are not known to have partitions yet. */
  missingDays(timestampsMs: Iterable<number>): number[] {
    const missing = new Set<number>();
    for (const ms of timestampsMs) {
      const day = Math.floor(ms / MS_PER_DAY);
      if (!this.known.has(day)) missing.add(day);
    }
    return [...missing].sort((a, b) => a - b);
  }

  async ensure(client: ClientBase, timestampsMs: Iterable<number>): Promise<number> {
    const missing = this.missingDays(timestampsMs);
    if (missing.length === 0) return 0;
    let created = 0;
    // One call per contiguous run of days.
    let runStart = missing[0]!;
    let previous = runStart;
    const runs: [number, number][] = [];
    for (const day of missing.slice(1)) {
      if (day !== previous + 1) {
        runs.push([runStart, previous]);
        runStart = day;
      }
      previous = day;
    }
    runs.push([runStart, previous]);
    for (const [first, last] of runs) {
      created += await ensureDayPartitions(client, first * MS_PER_DAY, last * MS_PER_DAY);
      for (let day = first; day <= last; day++) this.known.add(day);
    }
    return created;
  }
}

export interface RetentionResult {
  readonly droppedPartitions: string[];
  readonly prunedClickIds: number;
}

/**
 * Retention: drops Bronze/Silver day partitions whose whole day is older than retentionDays before nowMs (0: none),
 * and prunes click_id registry entries first seen more than dedupHorizonDays before nowMs.
 * Gold and budget history are kept.
 */
export async function applyRetention(
  client: ClientBase | Pool,
  options: { nowMs: number; retentionDays: number; dedupHorizonDays: number },
): Promise<RetentionResult> {
  // retentionDays 0 = keep forever.
  const dropped =
    options.retentionDays > 0
      ? await client.query<{ name: string }>(
          queryConfig("drop_day_partitions_before", [
            utcDay(options.nowMs - options.retentionDays * MS_PER_DAY),
          ]),
        )
      : { rows: [] };
  const pruned = await client.query<{ removed: string }>(
    queryConfig("prune_click_registry", [
      new Date(options.nowMs - options.dedupHorizonDays * MS_PER_DAY).toISOString(),
    ]),
  );
  return {
    droppedPartitions: dropped.rows.map((row) => row.name),
    prunedClickIds: Number(pruned.rows[0]?.removed ?? 0),
  };
}
