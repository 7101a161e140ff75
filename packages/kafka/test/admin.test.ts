import { kafkaConnectionFromEnv } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { deleteTopic, ensureTopic } from "../src/admin.js";
import { createKafka } from "../src/client.js";

// Checks that need no broker: they fail before any request is sent.
describe("admin helpers' guards", () => {
  const eventHubs = createKafka(
    kafkaConnectionFromEnv({
      EVENT_HUB_CONNECTION_STRING: "Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=a;SharedAccessKey=a2V5",
    }),
  );
  const plain = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: "127.0.0.1:1" }));

  it("refuses to delete an event hub through the Kafka API", async () => {
    await expect(deleteTopic(eventHubs, "hub")).rejects.toMatchObject({
      code: "ADP_KAFKA_UNSUPPORTED_ON_EVENT_HUBS",
    });
  });

  it.each([0, -1, 1.5, Number.NaN])("rejects %s partitions", async (partitions) => {
    await expect(ensureTopic(plain, { topic: "t", partitions })).rejects.toMatchObject({
      code: "ADP_KAFKA_INVALID_STATE",
    });
  });
});
