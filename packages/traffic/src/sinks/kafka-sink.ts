import { describeKafkaConnection } from "@adpipe/config";
import type { GeneratedRecord } from "@adpipe/core";
import { type AdpipeKafka, ensureTopic, sendWhole, WHOLE_SEND_PRODUCER, withAdmin } from "@adpipe/kafka";
import { CompressionTypes, type Message, Partitioners, type PartitionMetadata, type Producer } from "kafkajs";
import { SimulatorError } from "../errors.js";
import { ACKS, type AcksName, type CompressionName } from "../options.js";
import type { RecordSink } from "./sink.js";

export interface KafkaSinkOptions {
  topic: string;
  acks: AcksName;
  compression: CompressionName;
  /** Create the topic with this many partitions when it is missing (plain Kafka only). */
  createPartitions?: number;
}

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

/**
 * Produces with kafkajs to Kafka or to Event Hubs' Kafka endpoint (the client's connection decides).
 * Partitions are assigned here with kafkajs' own Java-compatible default partitioner, cached per key: the
 * placement is exactly what any keyed producer of the pipeline gets, without hashing every record.
 */
export class KafkaSink implements RecordSink {
  readonly description: string;
  readonly topic: string;
  private producer: Producer | undefined;
  private partitionMetadata: PartitionMetadata[] = [];
  private readonly partitionOfKey = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();

  constructor(
    private readonly kafka: AdpipeKafka,
    private readonly options: KafkaSinkOptions,
  ) {
    this.topic = options.topic;
    const connection = describeKafkaConnection(kafka.connection);
    const brokers = (connection.brokers as string[]).join(",");
    this.description = `${kafka.connection.flavor === "event-hubs" ? "Event Hubs Kafka endpoint" : "Kafka"} ${brokers}, topic ${options.topic}`;
  }

  /** Partitions of the topic, known after connect(). */
  get partitions(): number {
    return this.partitionMetadata.length;
  }

  async connect(): Promise<void> {
    try {
      if (this.options.createPartitions !== undefined && this.kafka.connection.canCreateTopics) {
        await ensureTopic(this.kafka, { topic: this.topic, partitions: this.options.createPartitions });
      }
      this.partitionMetadata = await withAdmin(this.kafka, async (admin) => {
        const topics = await admin.listTopics();
        if (!topics.includes(this.topic)) {
          throw new SimulatorError(
            "sink_unavailable",
            `topic "${this.topic}" does not exist: create it (e.g. --partitions 4 on plain Kafka; in Azure for Event Hubs)`,
          );
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [this.topic] });
        return metadata.topics.find((entry) => entry.name === this.topic)?.partitions ?? [];
      });
      // Whole resends: kafkajs' own retry can drop the records of a leader that died mid-send (sendWhole).
      const producer = this.kafka.producer({
        allowAutoTopicCreation: false,
        idempotent: false,
        ...WHOLE_SEND_PRODUCER,
      });
      await producer.connect();
      this.producer = producer;
    } catch (error) {
      if (error instanceof SimulatorError) throw error;
      throw new SimulatorError("sink_unavailable", `cannot reach ${this.description}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private partitionFor(key: string | null): number | undefined {
    if (key === null) return undefined;
    let partition = this.partitionOfKey.get(key);
    if (partition === undefined) {
      const message: Message = { key, value: null };
      partition = this.partitioner({ topic: this.topic, partitionMetadata: this.partitionMetadata, message });
      this.partitionOfKey.set(key, partition);
    }
    return partition;
  }

  async send(records: readonly GeneratedRecord[]): Promise<void> {
    const producer = this.producer;
    if (producer === undefined) throw new SimulatorError("sink_unavailable", "send() before connect()");
    const messages: Message[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as GeneratedRecord;
      const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
      const partition = this.partitionFor(record.key);
      messages[i] =
        partition === undefined
          ? { key: record.key, value, timestamp: String(Math.floor(record.timestampMs)) }
          : { key: record.key, value, timestamp: String(Math.floor(record.timestampMs)), partition };
    }
    try {
      await sendWhole(() =>
        producer.send({
          topic: this.topic,
          messages,
          acks: ACKS[this.options.acks],
          compression: COMPRESSION[this.options.compression],
        }),
      );
    } catch (error) {
      throw new SimulatorError(
        "send_failed",
        `sending ${records.length} records to ${this.description} failed: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
