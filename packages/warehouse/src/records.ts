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
}

/** Lineage of a record. */
export interface RecordLineage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}
