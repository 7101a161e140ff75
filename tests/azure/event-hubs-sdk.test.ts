import { setTimeout as sleep } from "node:timers/promises";
/**
 * The simulator's Event Hubs SDK path (AMQP, as the seed's web app sends) against a real Azure namespace.
 * AMQP cannot be emulated by the local Kafka broker, so this runs only when EVENT_HUB_CONNECTION_STRING names
 * an Azure namespace (*.servicebus.windows.net) with an existing event hub (EntityPath or KAFKA_TOPIC);
 * otherwise it fails at once saying so (it never skips: `.ci/run` runs it only when such a string is set, and
 * prints why not otherwise). Records sent over AMQP are read back through the namespace's Kafka
 * endpoint: bodies must arrive byte for byte, and one advertiser's records on one partition, in order.
 */
import { kafkaConnectionFromEnv, parseEventHubsConnectionString } from "@adpipe/config";
import { createKafka } from "@adpipe/kafka";
import { EventHubsSdkSink, parseSimulatorOptions, runSimulation } from "@adpipe/traffic";
import { describe, expect, test } from "vitest";
import { uniqueName } from "../support/index.js";

const NEEDS =
  "npm run test:azure needs EVENT_HUB_CONNECTION_STRING of a real Azure Event Hubs namespace " +
  "(Endpoint=sb://<ns>.servicebus.windows.net/;...;EntityPath=<hub>, or KAFKA_TOPIC) with an existing event hub";

function azureHub(): { connectionString: string; hub: string } {
  const connectionString = process.env.EVENT_HUB_CONNECTION_STRING;
  if (connectionString === undefined || connectionString === "") throw new Error(`${NEEDS}: it is not set`);
  const parsed = parseEventHubsConnectionString(connectionString);
  const hub = process.env.KAFKA_TOPIC || parsed.entityPath;
  if (!parsed.isAzure) throw new Error(`${NEEDS}: ${parsed.host} is not an Azure namespace`);
  if (hub === undefined) throw new Error(`${NEEDS}: it names no event hub`);
  return { connectionString, hub };
}

const azure = azureHub();

describe("simulator through the Event Hubs SDK (AMQP)", () => {
  test("events sent over AMQP are read back unchanged through the Kafka endpoint", async () => {
    const runId = uniqueName("sdk");
    const options = parseSimulatorOptions({
      rate: "200",
      count: "200",
      seed: "42",
      runId,
      progress: "none",
      transport: "event-hubs-sdk",
      malformed: "0",
    });
    const sink = new EventHubsSdkSink(azure.connectionString, azure.hub);
    await sink.connect();
    let sent: string[] = [];
    try {
      const result = await runSimulation({ options, sink });
      expect(result.stats.sent).toBe(200);
      const { generateStream } = await import("@adpipe/core");
      sent = [...generateStream(result.generator)].map((record) =>
        Buffer.from(record.value).toString("utf8"),
      );
    } finally {
      await sink.close();
    }

    // Read back through the Kafka endpoint: only this run's events (its click ids carry runId).
    const kafka = createKafka(
      kafkaConnectionFromEnv({
        EVENT_HUB_CONNECTION_STRING: azure.connectionString,
        KAFKA_TOPIC: azure.hub,
      }),
    );
    const consumer = kafka.consumer({ groupId: uniqueName("sdk-reader") });
    const received: { key: string | null; value: string; partition: number }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: azure.hub, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          const value = message.value?.toString("utf8") ?? "";
          if (value.includes(runId))
            received.push({ key: message.key?.toString("utf8") ?? null, value, partition });
        },
      });
      const mine = sent.filter((value) => value.includes(runId));
      const deadline = Date.now() + 120_000;
      while (received.length < mine.length && Date.now() < deadline) await sleep(500);
      expect(received.map((record) => record.value).sort()).toEqual(mine.sort());
    } finally {
      await consumer.disconnect();
    }
    // Same partition key -> same partition.
    const partitionOf = new Map<string, Set<number>>();
    for (const record of received) {
      const advertiser = /"advertiser(?:_id)?":"?([^",]+)/.exec(record.value)?.[1] ?? "";
      const set = partitionOf.get(advertiser) ?? new Set<number>();
      set.add(record.partition);
      partitionOf.set(advertiser, set);
    }
    for (const partitions of partitionOf.values()) expect(partitions.size).toBe(1);
  }, 300_000);
});
