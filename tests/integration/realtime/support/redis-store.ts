import { createServingClient, type ServingClient } from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import type { Redis } from "ioredis";
import { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "../../../support/index.js";

type StoreOptions = ConstructorParameters<typeof SpendStore>[0];

/** A spend store (scripts loaded, sentinel created) on the test Redis under its own key prefix. */
export interface RedisStore {
  redis: Redis;
  prefix: string;
  store: SpendStore;
}

/** Opens a RedisStore under a unique prefix named after `name`; the rest of the options go to SpendStore. */
export async function openRedisStore(
  name: string,
  options: Omit<StoreOptions, "redis" | "prefix" | "topic"> & { topic?: string },
): Promise<RedisStore> {
  const redis = testRedis();
  const prefix = uniqueRedisPrefix(name);
  const store = new SpendStore({ topic: "clicks", ...options, redis, prefix });
  await store.loadScripts();
  await store.createSentinel();
  return { redis, prefix, store };
}

/** The ad servers' client over a RedisStore's keys. */
export function servingClientOf(opened: RedisStore, topic = "clicks"): ServingClient {
  return createServingClient({ redis: opened.redis, prefix: opened.prefix, topic });
}

/** Closes the client (if any), deletes the prefix's keys and quits Redis. */
export async function closeRedisStore(
  redis: Redis | undefined,
  prefix: string | undefined,
  client?: ServingClient,
): Promise<void> {
  await client?.close();
  if (redis === undefined) return;
  if (prefix !== undefined) await deleteRedisPrefix(redis, prefix);
  await redis.quit();
}
