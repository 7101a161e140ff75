import { setTimeout as sleep } from "node:timers/promises";
/**
 * Event Hubs with Microsoft Entra ID (OAuth, no key) on real Azure, through the production credential path: no
 * injected credential, the @azure/identity class AZURE_AUTH names. Needs EVENT_HUB_NAMESPACE of an Azure namespace,
 * EVENT_HUB_NAME of an existing event hub and AZURE_AUTH (+ its variables); the identity needs Azure Event Hubs Data
 * Sender and Data Receiver on the hub. Without them it fails at once saying what is missing (it never skips;
 * `.ci/run` runs it only when they are set). Kafka endpoint over SASL OAUTHBEARER, and the AMQP sink with the same
 * credential, both read back through the Kafka endpoint.
 */
import { kafkaConnectionFromEnv, parseEventHubsNamespace } from "@adpipe/config";
import { createKafka, withAdmin } from "@adpipe/kafka";
import { EventHubsSdkSink, parseSimulatorOptions, runSimulation } from "@adpipe/traffic";
import { describe, expect, test } from "vitest";
import { uniqueName } from "../support/index.js";

const NEEDS =
  "the Entra ID test needs EVENT_HUB_NAMESPACE (<ns>.servicebus.windows.net), EVENT_HUB_NAME (an existing event " +
  "hub) and AZURE_AUTH with its variables (docs/azure.md)";

function entraHub(): { namespace: string } {
  const namespace = process.env.EVENT_HUB_NAMESPACE;
  if (!namespace) throw new Error(`${NEEDS}: EVENT_HUB_NAMESPACE is not set`);
  if (!parseEventHubsNamespace(namespace).isAzure)
    throw new Error(`${NEEDS}: ${namespace} is not an Azure namespace`);
  if (!process.env.EVENT_HUB_NAME && !process.env.KAFKA_TOPIC)
    throw new Error(`${NEEDS}: EVENT_HUB_NAME is not set`);
  if (!process.env.AZURE_AUTH) throw new Error(`${NEEDS}: AZURE_AUTH is not set`);
  return { namespace };
}

const azure = entraHub();

async function readBack(marker: string, expected: number): Promise<string[]> {
  const kafka = createKafka(kafkaConnectionFromEnv(process.env, { clientId: "adpipe-azure-test" }));
  const consumer = kafka.consumer({ groupId: uniqueName("entra-reader") });
  const received: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: kafka.connection.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value?.toString("utf8") ?? "";
        if (value.includes(marker)) received.push(value);
      },
    });
    const deadline = Date.now() + 120_000;
    while (received.length < expected && Date.now() < deadline) await sleep(500);
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe("Event Hubs with Entra ID on real Azure", () => {
  test("Kafka endpoint: SASL OAUTHBEARER with the AZURE_AUTH credential produces and consumes", async () => {
    const connection = kafkaConnectionFromEnv(process.env, { clientId: "adpipe-azure-test" });
    expect(connection.oauth?.scope).toBe(`https://${parseEventHubsNamespace(azure.namespace).host}/.default`);
    const kafka = createKafka(connection);
    expect(await withAdmin(kafka, (admin) => admin.listTopics())).toContain(connection.topic);
    const marker = uniqueName("entra-kafka");
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: connection.topic,
        messages: Array.from({ length: 20 }, (_, i) => ({ key: "k", value: `${marker}-${i}` })),
      });
    } finally {
      await producer.disconnect();
    }
    expect((await readBack(marker, 20)).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `${marker}-${i}`).sort(),
    );
  }, 300_000);

  test("AMQP sink (simulator --transport event-hubs-sdk) with the same credential", async () => {
    const connection = kafkaConnectionFromEnv(process.env);
    const runId = uniqueName("entra-sdk");
    const sink = new EventHubsSdkSink(
      { namespace: azure.namespace, ...(connection.oauth ? { auth: connection.oauth.auth } : {}) },
      connection.topic,
    );
    await sink.connect();
    try {
      const options = parseSimulatorOptions({
        rate: "100",
        count: "100",
        seed: "7",
        runId,
        progress: "none",
        transport: "event-hubs-sdk",
        malformed: "0",
      });
      expect((await runSimulation({ options, sink })).stats.sent).toBe(100);
    } finally {
      await sink.close();
    }
    expect((await readBack(runId, 100)).length).toBe(100);
  }, 300_000);
});
