import { setTimeout as sleep } from "node:timers/promises";
import type { AdpipeKafka } from "@adpipe/kafka";
import type { Consumer } from "kafkajs";
import { uniqueName } from "../../support/index.js";

export interface ReadRecord {
  key: string | null;
  value: string;
  timestampMs: number;
  partition: number;
}

/** Reads a test topic from the beginning with its own consumer group; records accumulate while it runs. */
export class TopicReader {
  readonly records: ReadRecord[] = [];
  private readonly consumer: Consumer;

  private constructor(consumer: Consumer) {
    this.consumer = consumer;
  }

  static async start(kafka: AdpipeKafka, topic: string): Promise<TopicReader> {
    const consumer = kafka.consumer({ groupId: uniqueName("api-test-reader") });
    const reader = new TopicReader(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        reader.records.push({
          key: message.key?.toString("utf8") ?? null,
          value: message.value?.toString("utf8") ?? "",
          timestampMs: Number(message.timestamp),
          partition,
        });
      },
    });
    return reader;
  }

  /** Waits until a record matches (or fails after timeoutMs). */
  async waitFor(match: (record: ReadRecord) => boolean, timeoutMs = 20_000): Promise<ReadRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching record on the topic within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
