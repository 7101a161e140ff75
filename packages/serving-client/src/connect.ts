import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/**
 * Where Redis is: one server by URL, or the seed nodes of a Redis Cluster. The same shape as RedisConnection of
 * @adpipe/config (which parses it from REDIS_URL / REDIS_CLUSTER_NODES); repeated here so this package keeps
 * depending on ioredis only.
 */
export type RedisTarget =
  | { readonly mode: "standalone"; readonly url: string }
  | {
      readonly mode: "cluster";
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

/** Per-connection settings; on a cluster they apply to the connection to every node. */
export type RedisClientOptions = Pick<
  RedisOptions,
  "connectionName" | "lazyConnect" | "maxRetriesPerRequest" | "commandTimeout" | "connectTimeout"
>;

/**
 * The one place a Redis client is made: `Redis` for one server, `Redis.Cluster` for a cluster. Cluster reads go
 * to masters only: a replica may lag, and a serving answer must never be older than the tracker's last write.
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions = {}): Redis | Cluster {
  if (target.mode === "standalone") return new Redis(target.url, options);
  const { lazyConnect, ...perNode } = options;
  const redisOptions: RedisOptions = {
    ...perNode,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
  };
  const clusterOptions: ClusterOptions = {
    redisOptions,
    scaleReads: "master",
    // Bounded like a standalone client: a command waits through a failover, not forever.
    ...(options.maxRetriesPerRequest === undefined || options.maxRetriesPerRequest === null
      ? {}
      : { maxRedirections: Math.max(16, options.maxRetriesPerRequest * 8) }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
  };
  return new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
}

/** True for a `Redis.Cluster` client. */
export function isRedisCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}
