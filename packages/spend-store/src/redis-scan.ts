import type { Cluster, Redis } from "ioredis";

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return "nodes" in redis && typeof (redis as Cluster).nodes === "function" && (redis as Cluster).isCluster;
}

/**
 * SCAN every master (one node for standalone Redis) for keys matching a glob, in chunks. May repeat a key.
 * `counted` is told the number of SCAN calls made (once per master, after its last call).
 */
export async function* scanKeys(
  redis: Redis | Cluster,
  pattern: string,
  count = 1000,
  counted: (scanCalls: number) => void = () => undefined,
): AsyncGenerator<string[]> {
  const nodes: Redis[] = isCluster(redis) ? redis.nodes("master") : [redis];
  for (const node of nodes) {
    let cursor = "0";
    let calls = 0;
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      calls++;
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
    counted(calls);
  }
}
