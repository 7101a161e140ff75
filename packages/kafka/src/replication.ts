/** A replication factor above 3 buys little durability for its cost; a smaller cluster gets one copy per broker. */
export const MAX_DEFAULT_REPLICATION_FACTOR = 3;

export interface TopicReplication {
  replicationFactor: number;
  /** Set from a replication factor of 3 up: acks=all then survives one broker down and never acks one copy. */
  minInsyncReplicas?: number;
}

/**
 * How a topic the pipeline creates is replicated: `requested` (KAFKA_REPLICATION_FACTOR, or the caller's) or
 * min(3, brokers in the cluster), with min.insync.replicas one less than the factor when that is at least 3.
 * With 2 copies a min ISR of 2 would stop producers whenever either broker is down, so the broker's default stays.
 */
export function topicReplication(brokerCount: number, requested?: number): TopicReplication {
  const replicationFactor = requested ?? Math.min(MAX_DEFAULT_REPLICATION_FACTOR, Math.max(1, brokerCount));
  return replicationFactor >= 3
    ? { replicationFactor, minInsyncReplicas: replicationFactor - 1 }
    : { replicationFactor };
}

/**
 * Brokers the cluster's metadata names as replicas of existing partitions but that are not registered now (down,
 * fenced, or removed without reassigning their partitions), ascending. Their existence means the cluster is larger
 * than the brokers answering, so a replication factor taken from the registered count would be too low.
 */
export function unregisteredReplicaBrokers(
  registered: Iterable<number>,
  assignedReplicas: Iterable<number>,
): number[] {
  const live = new Set(registered);
  return [...new Set(assignedReplicas)].filter((id) => !live.has(id)).sort((a, b) => a - b);
}

/**
 * Why a topic's default replication factor is below MAX_DEFAULT_REPLICATION_FACTOR, or undefined when it is not
 * (or when the factor was requested, which is the operator's decision):
 *  * `brokers_missing`: fewer brokers registered than existing partitions are assigned to (an outage): loud.
 *  * `small_cluster`: the cluster has no more brokers than that as far as its metadata shows (a dev broker).
 */
export function replicationShortfall(
  replication: TopicReplication,
  requested: number | undefined,
  missingBrokers: readonly number[],
): "brokers_missing" | "small_cluster" | undefined {
  if (requested !== undefined || replication.replicationFactor >= MAX_DEFAULT_REPLICATION_FACTOR)
    return undefined;
  return missingBrokers.length > 0 ? "brokers_missing" : "small_cluster";
}
