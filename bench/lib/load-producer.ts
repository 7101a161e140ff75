import type { GeneratedRecord } from "@adpipe/core";
import type { AdpipeKafka } from "@adpipe/kafka";
import { NativeKafkaSink, supportsNativeProduce } from "@adpipe/traffic";

/** Sends generated records (their timestampMs is the Kafka record timestamp) as one request. */
export interface LoadProducer {
  send(records: readonly GeneratedRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The load generator's producer. The simulator's native encoder costs a few microseconds per record where
 * kafkajs costs tens: on a 2-core machine shared with the services under test, a kafkajs producer could not
 * hold 20,000 events/s. kafkajs is the fallback for TLS/SASL clusters.
 */
export async function loadProducer(kafka: AdpipeKafka, topic: string): Promise<LoadProducer> {
  if (supportsNativeProduce(kafka.connection)) {
    const sink = new NativeKafkaSink(kafka, { topic, acks: "leader" });
    await sink.connect();
    return sink;
  }
  const producer = kafka.producer();
  await producer.connect();
  return {
    send: async (records) => {
      await producer.send({
        topic,
        acks: 1,
        messages: records.map((r) => ({
          key: r.key,
          value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
          timestamp: String(r.timestampMs),
        })),
      });
    },
    close: () => producer.disconnect(),
  };
}
