import { hostname } from "node:os";
import { DEFAULT_KEY_PREFIX } from "@adpipe/serving-client";
import { spendKeys } from "@adpipe/spend-store";
import {
  applyWarehouseReset,
  type createPool,
  markOffsetReset,
  readWarehousePositions,
  startOffsetReset,
  type WarehouseMove,
} from "@adpipe/warehouse";
import { Redis } from "ioredis";

type Pool = ReturnType<typeof createPool>;

export interface ForgottenPositions {
  /** The ingestor's stored next offsets (Postgres ingest.consumer_offsets) the new log replaced. */
  readonly warehouse: readonly { partition: number; offset: string }[];
  /** The tracker's recorded next offsets (Redis meta hash) that were removed. */
  readonly tracker: readonly { partition: number; offset: string }[];
  /** The topic generation the warehouse moved to (null: nothing was stored, nothing moved). */
  readonly generation: number | null;
  /** The audit row of the move (ingest.offset_resets), null when nothing moved. */
  readonly resetId: string | null;
}

/**
 * The supervisor just created `topic` on the local broker, so its log is empty and starts at offset 0. Any
 * position its own pipeline stored for a topic of that name (an earlier run's broker data was deleted) points
 * into a log that no longer exists: left in place, every new record below it would be taken for a replay.
 * The warehouse moves to the next generation of the topic at offset 0 (as `adpipe offsets reset --to earliest`
 * would, audited as source `supervisor`), so the new log's rows never collide with the old one's; the tracker's
 * meta hash is removed (the tracker rebuilds its state from the warehouse at start, taking its generation: the
 * spend stays, the positions start from the new log). Bronze/Silver/Gold and the advertiser hashes are kept.
 */
export async function forgetPositionsOfEarlierTopic(options: {
  pool: Pool;
  redisUrl: string;
  redisPrefix: string | undefined;
  pipeline: string;
  topic: string;
}): Promise<ForgottenPositions> {
  const { pool, topic } = options;
  const before = await readWarehousePositions(pool, topic);
  const warehouse = [...(before.pipelines.get(options.pipeline) ?? new Map<number, bigint>())]
    .map(([partition, offset]) => ({ partition, offset: offset.toString() }))
    .sort((a, b) => a.partition - b.partition);
  let generation: number | null = null;
  let resetId: string | null = null;
  if (before.pipelines.size > 0) {
    const moves: WarehouseMove[] = [...before.pipelines].flatMap(([pipeline, offsets]) =>
      [...offsets.keys()].map((partition) => ({ pipeline, partition, to: 0n })),
    );
    generation = before.generation + 1;
    resetId = await startOffsetReset(pool, {
      topic,
      target: "earliest",
      actor: `supervisor (npm start) @${hostname()} pid ${process.pid}`,
      reason:
        "the supervisor created the topic anew on the local broker (first run after kafka.sh reset, or --fresh): its log starts at offset 0",
      source: "supervisor",
      plan: {
        newLog: true,
        warehouse: { fromGeneration: before.generation, toGeneration: generation, moves },
        tracker: "meta hash removed: the tracker rebuilds from the warehouse",
      },
    });
    await applyWarehouseReset(pool, {
      topic,
      resetId,
      fromGeneration: before.generation,
      toGeneration: generation,
      moves,
    });
  }
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let tracker: { partition: number; offset: string }[];
  try {
    await redis.connect();
    const meta = spendKeys(options.redisPrefix ?? DEFAULT_KEY_PREFIX).meta(topic);
    const fields = await redis.hgetall(meta);
    tracker = Object.entries(fields)
      .filter(([field]) => field.startsWith("o:"))
      .map(([field, offset]) => ({ partition: Number(field.slice(2)), offset }))
      .sort((a, b) => a.partition - b.partition);
    if (Object.keys(fields).length > 0) await redis.del(meta);
  } finally {
    redis.disconnect();
  }
  if (resetId !== null) {
    await markOffsetReset(pool, resetId, "tracker");
    await markOffsetReset(pool, resetId, "completed");
  }
  return { warehouse, tracker, generation, resetId };
}

/** "partitions 0-3 up to offset 5259" style summary of removed positions. */
export function describePositions(positions: readonly { partition: number; offset: string }[]): string {
  if (positions.length === 0) return "none";
  const highest = positions.reduce((max, p) => (BigInt(p.offset) > BigInt(max) ? p.offset : max), "0");
  return `${positions.length} partition${positions.length === 1 ? "" : "s"}, up to offset ${highest}`;
}
