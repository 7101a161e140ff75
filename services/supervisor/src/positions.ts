import { DEFAULT_KEY_PREFIX } from "@adpipe/serving-client";
import { spendKeys } from "@adpipe/spend-store";
import { type createPool, forgetStoredOffsets } from "@adpipe/warehouse";
import { Redis } from "ioredis";

type Pool = ReturnType<typeof createPool>;

export interface ForgottenPositions {
  /** The ingestor's stored next offsets (Postgres ingest.consumer_offsets) that were removed. */
  readonly warehouse: readonly { partition: number; offset: string }[];
  /** The tracker's recorded next offsets (Redis meta hash) that were removed. */
  readonly tracker: readonly { partition: number; offset: string }[];
}

/**
 * The supervisor just created `topic` on the local broker, so its log is empty and starts at offset 0. Any
 * position its own pipeline stored for a topic of that name (an earlier run's broker data was deleted) points
 * into a log that no longer exists: left in place, every new record below it would be skipped as a replay.
 * They are removed: the ingestor's rows in ingest.consumer_offsets, and the tracker's meta hash in Redis
 * (without it the tracker rebuilds its state from the warehouse at start: the spend stays, the positions
 * start from the new log). Bronze/Silver/Gold and the advertiser hashes are not touched.
 */
export async function forgetPositionsOfEarlierTopic(options: {
  pool: Pool;
  redisUrl: string;
  redisPrefix: string | undefined;
  pipeline: string;
  topic: string;
}): Promise<ForgottenPositions> {
  const warehouse = await forgetStoredOffsets(options.pool, {
    pipeline: options.pipeline,
    topic: options.topic,
  });
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    const meta = spendKeys(options.redisPrefix ?? DEFAULT_KEY_PREFIX).meta(options.topic);
    const fields = await redis.hgetall(meta);
    const tracker = Object.entries(fields)
      .filter(([field]) => field.startsWith("o:"))
      .map(([field, offset]) => ({ partition: Number(field.slice(2)), offset }))
      .sort((a, b) => a.partition - b.partition);
    if (Object.keys(fields).length > 0) await redis.del(meta);
    return { warehouse, tracker };
  } finally {
    redis.disconnect();
  }
}

/** "partitions 0-3 up to offset 5259" style summary of removed positions. */
export function describePositions(positions: readonly { partition: number; offset: string }[]): string {
  if (positions.length === 0) return "none";
  const highest = positions.reduce((max, p) => (BigInt(p.offset) > BigInt(max) ? p.offset : max), "0");
  return `${positions.length} partition${positions.length === 1 ? "" : "s"}, up to offset ${highest}`;
}
