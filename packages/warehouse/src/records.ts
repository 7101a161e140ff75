/** One Kafka record as the warehouse receives it (kafkajs' message plus its topic and partition). */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset (int64) as kafkajs gives it: a decimal string. Numbers and bigints are accepted too. */
  readonly offset: string | number | bigint;
  /** Kafka record timestamp (CreateTime), epoch ms: the reference clock of parseEvent. */
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /**
   * Generation of the topic log the record comes from (ingest.topic_generations; 0 until the topic was reset).
   * writeBatch sets it from the batch; reprocessing carries it over from Bronze.
   */
  readonly generation?: number;
}

/** Lineage of a record. */
export interface RecordLineage {
  readonly topic: string;
  readonly partition: number;
  /** Generation of the topic's log: offsets start again at 0 in a recreated topic. */
  readonly generation: number;
  readonly offset: bigint;
}
