import { sendWhole } from "@adpipe/kafka";
import type { Producer } from "kafkajs";
import type { EventPublisher } from "../ports.js";

export interface KafkaPublisher extends EventPublisher {
  close(): Promise<void>;
}

/**
 * Produces to the click topic with acks from all in-sync replicas. Connects on first use (and again
 * after a failure), so the API starts and serves lookups while the broker is unreachable. The producer is made
 * with WHOLE_SEND_PRODUCER: a failed send is sent again in full (sendWhole), so a leader that dies mid-send
 * loses no record.
 */
export function createKafkaPublisher(producer: Producer, topic: string): KafkaPublisher {
  let connecting: Promise<void> | null = null;
  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = null;
      throw error;
    });
    return connecting;
  };
  return {
    async publish(records) {
      if (records.length === 0) return;
      await sendWhole(async () => {
        await connect();
        await producer.send({
          topic,
          acks: -1,
          messages: records.map((record) => ({
            key: record.key,
            value: record.value,
            timestamp: String(record.timestampMs),
          })),
        });
      });
    },
    async close() {
      if (connecting !== null) await producer.disconnect();
    },
  };
}
