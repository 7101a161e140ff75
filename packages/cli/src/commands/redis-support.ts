import {
  ConfigError,
  describeRedisConnection,
  type RedisConnection,
  redisConnectionFromEnv,
} from "@adpipe/config";
import { createRedisClient } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { EXIT } from "../exit-codes.js";
import { CommandFailure } from "./warehouse-support.js";

/** The Redis of the real-time path: REDIS_URL (one server) or REDIS_CLUSTER_NODES / redis+cluster:// (exit 2 when bad). */
export function redisFromEnv(): RedisConnection {
  try {
    return redisConnectionFromEnv();
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

/** True when the environment names a Redis (REDIS_URL or REDIS_CLUSTER_NODES set). */
export function redisConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.REDIS_URL) || Boolean(env.REDIS_CLUSTER_NODES);
}

/** A connected client for one command, failing fast with exit 69 (`hint` says what else to do); disconnect it. */
export async function connectRedis(
  connection: RedisConnection,
  options: { hint?: string; maxRetriesPerRequest?: number; connectTimeout?: number } = {},
): Promise<Redis | Cluster> {
  const redis = createRedisClient(connection, {
    lazyConnect: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    connectionName: "adpipe-cli",
    ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new CommandFailure(
      `Redis at ${describeRedisConnection(connection)} is unavailable${options.hint ?? ""}: ${error instanceof Error ? error.message : String(error)}`,
      EXIT.unavailable,
      { cause: error },
    );
  }
  return redis;
}
