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
