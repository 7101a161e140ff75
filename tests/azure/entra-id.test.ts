/**
 * Entra ID (OAuth) against real Azure, through the production credential path (no injected credential: the
 * @azure/identity class AZURE_AUTH names). Runs when the environment names an Azure namespace without a key:
 *   EVENT_HUB_NAMESPACE=<ns>.servicebus.windows.net  EVENT_HUB_NAME=<existing hub>  AZURE_AUTH=<mode> (+ its variables)
 * and, for the Blob part, AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_CONTAINER (the identity needs Storage Blob Data
 * Contributor). The identity needs Azure Event Hubs Data Sender and Data Receiver on the hub. Otherwise each test is
 * skipped, visibly (its name says what to set). Not part of `npm test`: `npm run test:azure`.
 */
import { kafkaConnectionFromEnv, loadEnv, parseEventHubsNamespace } from "@adpipe/config";
import { createKafka, withAdmin } from "@adpipe/kafka";
import { lakeEnvSchema, lakeSettingsFromEnv, openObjectStore } from "@adpipe/lake";
import { EventHubsSdkSink, parseSimulatorOptions, runSimulation } from "@adpipe/simulator";
import { describe, expect, test } from "vitest";
import { uniqueName } from "../support/index.js";

function entraHub(): { namespace: string; hub: string } | undefined {
  const namespace = process.env.EVENT_HUB_NAMESPACE;
  const hub = process.env.EVENT_HUB_NAME || process.env.KAFKA_TOPIC;
  if (!namespace || !hub || !process.env.AZURE_AUTH) return undefined;
  try {
    return parseEventHubsNamespace(namespace).isAzure ? { namespace, hub } : undefined;
  } catch {
    return undefined;
  }
}

const azure = entraHub();
const HUB_HINT =
  " (skipped: set EVENT_HUB_NAMESPACE of an Azure namespace, EVENT_HUB_NAME of an existing hub and AZURE_AUTH to run it)";
const blob = azure !== undefined && process.env.AZURE_STORAGE_ACCOUNT && process.env.AZURE_STORAGE_CONTAINER;

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
    while (received.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe("Entra ID (OAuth) on real Azure", () => {
  test.skipIf(azure === undefined)(
    `Kafka endpoint: SASL OAUTHBEARER with the AZURE_AUTH credential produces and consumes${azure === undefined ? HUB_HINT : ""}`,
    async () => {
      const connection = kafkaConnectionFromEnv(process.env, { clientId: "adpipe-azure-test" });
      expect(connection.oauth?.scope).toBe(
        `https://${parseEventHubsNamespace(azure!.namespace).host}/.default`,
      );
      const kafka = createKafka(connection);
      const topics = await withAdmin(kafka, (admin) => admin.listTopics());
      expect(topics).toContain(connection.topic);
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
    },
    300_000,
  );

  test.skipIf(azure === undefined)(
    `AMQP sink (simulator --transport event-hubs-sdk) with the same credential${azure === undefined ? HUB_HINT : ""}`,
    async () => {
      const connection = kafkaConnectionFromEnv(process.env);
      const runId = uniqueName("entra-sdk");
      const sink = new EventHubsSdkSink(
        { namespace: azure!.namespace, ...(connection.oauth ? { auth: connection.oauth.auth } : {}) },
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
    },
    300_000,
  );

  test.skipIf(!blob)(
    `Blob Storage (LAKE_STORAGE=azure) with AZURE_AUTH, no key${blob ? "" : " (skipped: also set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_CONTAINER)"}`,
    async () => {
      const settings = lakeSettingsFromEnv(
        loadEnv(lakeEnvSchema, {
          ...process.env,
          LAKE_STORAGE: "azure",
          LAKE_PATH: uniqueName("entra-lake"),
        }),
      );
      expect(settings.location).toMatchObject({ storage: "azure", credentials: { kind: "entra-id" } });
      const store = await openObjectStore(settings.location);
      expect(await store.putIfAbsent("probe.json", Buffer.from("{}"))).toBe(true);
      expect(await store.putIfAbsent("probe.json", Buffer.from("{ }"))).toBe(false);
      expect(Buffer.from((await store.get("probe.json")) ?? []).toString()).toBe("{}");
      await store.delete("probe.json");
    },
    120_000,
  );
});
