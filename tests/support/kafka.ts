import { type KafkaConnection, kafkaConnectionFromEnv } from "@adpipe/config";
import {
  type AdpipeKafka,
  type CreateKafkaOptions,
  createKafka,
  deleteTopic,
  ensureTopic,
} from "@adpipe/kafka";
import { uniqueName } from "./names.js";
import { testServices } from "./services.js";

/** The plain-Kafka connection of the integration tests (the brokers global-setup checked). */
export function testKafkaConnection(overrides: { clientId?: string; topic?: string } = {}): KafkaConnection {
  return kafkaConnectionFromEnv(
    { KAFKA_BROKERS: testServices().kafkaBrokers.join(",") },
    {
      clientId: overrides.clientId ?? uniqueName("test-client"),
      ...(overrides.topic ? { topic: overrides.topic } : {}),
    },
  );
}

/** A client for the test brokers (kafkajs logs at WARN and above to stderr unless a logger is given). */
export function testKafka(options: CreateKafkaOptions & { clientId?: string } = {}): AdpipeKafka {
  const { clientId, ...kafkaOptions } = options;
  return createKafka(testKafkaConnection(clientId === undefined ? {} : { clientId }), kafkaOptions);
}

export interface TestTopic {
  topic: string;
  kafka: AdpipeKafka;
  /** Deletes the topic; call it in afterAll/afterEach. Safe to call twice. */
  delete(): Promise<void>;
}

/** Creates a topic with a unique name (explicitly: the broker does not auto-create topics). */
export async function createTestTopic(
  prefix: string,
  partitions = 1,
  kafka: AdpipeKafka = testKafka(),
): Promise<TestTopic> {
  const topic = uniqueName(prefix);
  await ensureTopic(kafka, { topic, partitions });
  return { topic, kafka, delete: () => deleteTopic(kafka, topic) };
}
