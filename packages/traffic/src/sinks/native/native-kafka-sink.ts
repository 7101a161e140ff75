import type { KafkaConnection } from "@adpipe/config";
import type { GeneratedRecord } from "@adpipe/core";
import { type AdpipeKafka, ensureTopic, withAdmin } from "@adpipe/kafka";
import { type Message, Partitioners, type PartitionMetadata } from "kafkajs";
import { SimulatorError } from "../../errors.js";
import { ACKS, type AcksName } from "../../options.js";
import type { RecordSink } from "../sink.js";
import { BrokerConnection } from "./connection.js";
import { decodeProduceResponse, encodeProduceRequest, type PartitionRecords } from "./produce-request.js";

export interface NativeKafkaSinkOptions {
  topic: string;
  acks: AcksName;
  createPartitions?: number;
  /** Broker-side wait for acknowledgements. Default 30 s. */
  timeoutMs?: number;
}

/** The native path applies to plain Kafka without TLS or SASL (the local broker, a dev cluster). */
export function supportsNativeProduce(connection: KafkaConnection): boolean {
  return connection.flavor === "kafka" && connection.ssl === false && connection.sasl === undefined;
}

/**
 * The simulator's fast path for `--max` on plain Kafka: Produce requests encoded straight into one buffer per
 * broker (see produce-request.ts) and written to one connection per partition leader. kafkajs spends tens of
 * microseconds per record building objects; this spends a few. Metadata still comes from kafkajs' admin
 * client, and partitions from kafkajs' default (Java-compatible murmur2) partitioner, so records land
 * exactly where the kafkajs sink puts them. No retries: a broker error fails the run (a benchmark path).
 */
export class NativeKafkaSink implements RecordSink {
  readonly description: string;
  readonly topic: string;
  private metadata: PartitionMetadata[] = [];
  private readonly connections = new Map<number, BrokerConnection>();
  private readonly partitionOfKey = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private nullKeyCounter = 0;
  private correlationId = 0;

  constructor(
    private readonly kafka: AdpipeKafka,
    private readonly options: NativeKafkaSinkOptions,
  ) {
    this.topic = options.topic;
    this.description = `Kafka ${kafka.connection.brokers.join(",")} (native produce), topic ${options.topic}`;
  }

  get partitions(): number {
    return this.metadata.length;
  }

  async connect(): Promise<void> {
    if (!supportsNativeProduce(this.kafka.connection)) {
      throw new SimulatorError(
        "invalid_options",
        "the native producer supports plain Kafka without TLS or SASL only",
      );
    }
    try {
      if (this.options.createPartitions !== undefined) {
        await ensureTopic(this.kafka, { topic: this.topic, partitions: this.options.createPartitions });
      }
      const { partitions, brokers } = await withAdmin(this.kafka, async (admin) => {
        if (!(await admin.listTopics()).includes(this.topic)) {
          throw new SimulatorError(
            "sink_unavailable",
            `topic "${this.topic}" does not exist: create it (e.g. --partitions 4)`,
          );
        }
        const topicMetadata = await admin.fetchTopicMetadata({ topics: [this.topic] });
        const cluster = await admin.describeCluster();
        return { partitions: topicMetadata.topics[0]?.partitions ?? [], brokers: cluster.brokers };
      });
      this.metadata = [...partitions].sort((a, b) => a.partitionId - b.partitionId);
      for (const leader of new Set(this.metadata.map((p) => p.leader))) {
        const broker = brokers.find((b) => b.nodeId === leader);
        if (broker === undefined)
          throw new SimulatorError("sink_unavailable", `no address for broker ${leader}`);
        const connection = new BrokerConnection(broker.host, broker.port);
        await connection.open();
        this.connections.set(leader, connection);
      }
    } catch (error) {
      await this.close();
      if (error instanceof SimulatorError) throw error;
      throw new SimulatorError(
        "sink_unavailable",
        `cannot reach ${this.description}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  private partitionFor(key: string | null): number {
    if (key === null) {
      const partition = (this.metadata[this.nullKeyCounter % this.metadata.length] as PartitionMetadata)
        .partitionId;
      this.nullKeyCounter++;
      return partition;
    }
    let partition = this.partitionOfKey.get(key);
    if (partition === undefined) {
      const message: Message = { key, value: null };
      partition = this.partitioner({ topic: this.topic, partitionMetadata: this.metadata, message });
      this.partitionOfKey.set(key, partition);
    }
    return partition;
  }

  async send(records: readonly GeneratedRecord[]): Promise<void> {
    const byPartition = new Map<number, GeneratedRecord[]>();
    for (const record of records) {
      const partition = this.partitionFor(record.key);
      const list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, [record]);
      else list.push(record);
    }
    const byLeader = new Map<number, PartitionRecords[]>();
    for (const [partition, list] of byPartition) {
      const leader = this.metadata[partition]?.leader ?? -1;
      const group = byLeader.get(leader);
      if (group === undefined) byLeader.set(leader, [{ partition, records: list }]);
      else group.push({ partition, records: list });
    }
    const acks = ACKS[this.options.acks];
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        const connection = this.connections.get(leader);
        if (connection === undefined)
          throw new SimulatorError("send_failed", `not connected to broker ${leader}`);
        this.correlationId = (this.correlationId + 1) % 2_147_483_647;
        const correlationId = this.correlationId;
        const frame = encodeProduceRequest({
          correlationId,
          clientId: this.kafka.connection.clientId,
          acks,
          timeoutMs: this.options.timeoutMs ?? 30_000,
          topic: this.topic,
          partitions,
        });
        let body: Buffer;
        try {
          body = await connection.request(frame, correlationId, acks !== 0);
        } catch (error) {
          throw new SimulatorError(
            "send_failed",
            `producing to broker ${leader} failed: ${error instanceof Error ? error.message : String(error)}`,
            {
              cause: error,
            },
          );
        }
        if (acks === 0) return;
        const failed = decodeProduceResponse(body).filter((result) => result.errorCode !== 0);
        if (failed.length > 0) {
          throw new SimulatorError(
            "send_failed",
            `broker ${leader} refused records: ${failed.map((r) => `partition ${r.partition} error code ${r.errorCode}`).join(", ")}`,
          );
        }
      }),
    );
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map((connection) => connection.close()));
  }
}
