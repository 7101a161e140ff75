import { Cluster } from "ioredis";

/** The local cluster of scripts/redis-cluster.sh (REDIS_CLUSTER_PORT 7000). */
const LOCAL_CLUSTER_NODES = "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";

/** Seed nodes of the test Redis Cluster: REDIS_CLUSTER_NODES, else the local one scripts/redis-cluster.sh starts. */
export function redisClusterNodes(): string {
  return process.env.REDIS_CLUSTER_NODES || LOCAL_CLUSTER_NODES;
}

/**
 * A connected client of the test Redis Cluster; disconnect() it in afterAll. Fails (never skips) with what to
 * run when the cluster does not answer: `npm test` starts it, a single file needs it started by hand.
 */
export async function testRedisCluster(): Promise<Cluster> {
  const nodes = redisClusterNodes();
  const cluster = new Cluster(
    nodes.split(",").map((node) => {
      const [host, port] = node.split(":");
      return { host: host ?? "127.0.0.1", port: Number(port) };
    }),
    { lazyConnect: true, scaleReads: "master", redisOptions: { maxRetriesPerRequest: 3 } },
  );
  cluster.on("error", () => undefined);
  try {
    await cluster.connect();
    const info = await cluster.cluster("INFO");
    if (!String(info).includes("cluster_state:ok")) throw new Error("cluster_state is not ok");
  } catch (error) {
    cluster.disconnect();
    throw new Error(
      `the Redis Cluster at ${nodes} does not answer (${error instanceof Error ? error.message : String(error)}).\n` +
        "    Fix: bash scripts/redis-cluster.sh start   (npm test starts it), or set REDIS_CLUSTER_NODES.",
    );
  }
  return cluster;
}

/** Deletes every key under a test prefix on every master of the cluster (SCAN + UNLINK per node). */
export async function deleteClusterPrefix(cluster: Cluster, prefix: string): Promise<number> {
  if (!prefix.startsWith("test:") || prefix.length < 10) {
    throw new Error(`refusing to delete keys under "${prefix}": test prefixes come from uniqueRedisPrefix()`);
  }
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  let deleted = 0;
  for (const node of cluster.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      // One UNLINK per key: keys of one node still span many slots.
      for (const key of keys) deleted += await node.unlink(key);
    } while (cursor !== "0");
  }
  return deleted;
}
