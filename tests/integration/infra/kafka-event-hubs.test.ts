import { ConfigError, kafkaConnectionFromEnv, parseEventHubsConnectionString } from "@adpipe/config";
import { createKafka, ensureTopic, isAuthenticationError, KafkaError } from "@adpipe/kafka";
import { logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, eventHubsEmulation, type TestTopic, uniqueName } from "../../support/index.js";

/**
 * The local broker's SASL_SSL listener (127.0.0.1:9093) emulates Azure Event Hubs' Kafka endpoint:
 * username "$ConnectionString", password an Event Hubs connection string, TLS with a CA made at broker start.
 * Everything below is configured from nothing but the connection string (and the CA to trust).
 */
const eventHubsEnv = eventHubsEmulation;

describe("Event Hubs Kafka endpoint emulation (SASL_SSL, PLAIN, $ConnectionString)", () => {
  // The event hub itself is made out of band, as in Azure (portal/Bicep): here over PLAINTEXT.
  let hub: TestTopic;

  beforeAll(async () => {
    hub = await createTestTopic("infra-eh", 2);
  });
  afterAll(async () => {
    await hub?.delete();
  });

  it("maps the connection string to an Event Hubs client configuration", () => {
    const connection = kafkaConnectionFromEnv({ ...eventHubsEnv(), KAFKA_TOPIC: hub.topic });
    expect(connection).toMatchObject({
      flavor: "event-hubs",
      brokers: [parseEventHubsConnectionString(eventHubsEnv().EVENT_HUB_CONNECTION_STRING).broker],
      ssl: { rejectUnauthorized: true },
      topic: hub.topic,
      canCreateTopics: false,
      sasl: { mechanism: "plain", username: "$ConnectionString" },
    });
    expect(JSON.stringify(connection)).not.toContain(eventHubsEnv().EVENT_HUB_CONNECTION_STRING);
  });

  it("produces and consumes over TLS with only the connection string", async () => {
    const connection = kafkaConnectionFromEnv({ ...eventHubsEnv(), KAFKA_TOPIC: hub.topic });
    const kafka = createKafka(connection);
    // ensureTopic on Event Hubs only checks that the hub exists.
    expect(await ensureTopic(kafka, { topic: connection.topic, partitions: 2 })).toEqual({
      created: false,
      partitions: 2,
    });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: connection.topic,
      messages: [
        { key: "adv-1", value: "over-sasl-ssl-1" },
        { key: "adv-2", value: "over-sasl-ssl-2" },
      ],
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName("g-eh") });
    const values: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: connection.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              values.push(message.value?.toString() ?? "");
              if (values.length === 2) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    expect(values.sort()).toEqual(["over-sasl-ssl-1", "over-sasl-ssl-2"]);
  });

  it("cannot create event hubs: ensureTopic reports a missing hub instead", async () => {
    const kafka = createKafka(kafkaConnectionFromEnv(eventHubsEnv()));
    const missing = uniqueName("infra-eh-missing");
    await expect(ensureTopic(kafka, { topic: missing, partitions: 1 })).rejects.toMatchObject({
      name: "KafkaError",
      code: "ADP_KAFKA_TOPIC_MISSING",
    });
  });

  it("rejects a wrong SharedAccessKey quickly with an authentication error", async () => {
    const good = eventHubsEnv();
    const wrongKey = good.EVENT_HUB_CONNECTION_STRING.replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${Buffer.from("not-the-key-not-the-key-not-the-k").toString("base64")}`,
    );
    expect(wrongKey).not.toBe(good.EVENT_HUB_CONNECTION_STRING);
    const logged: string[] = [];
    const capture = (object: object, message?: string) => logged.push(JSON.stringify({ ...object, message }));
    const kafka = createKafka(kafkaConnectionFromEnv({ ...good, EVENT_HUB_CONNECTION_STRING: wrongKey }), {
      retry: { retries: 0 },
      connectionTimeout: 3_000,
      authenticationTimeout: 3_000,
      logger: { error: capture, warn: capture, info: capture, debug: capture },
    });
    const producer = kafka.producer();
    const startedAt = Date.now();
    const error = await producer.connect().then(
      () => null,
      (caught: unknown) => caught,
    );
    const elapsedMs = Date.now() - startedAt;
    await producer.disconnect();

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("KafkaJSSASLAuthenticationError");
    expect((error as Error).message).toMatch(/SASL PLAIN authentication failed/);
    expect(isAuthenticationError(error)).toBe(true);
    // Refused by the broker, not a timeout.
    expect(elapsedMs).toBeLessThan(3_000);
    // The failure is logged through our logger, and the secret never shows up in what is reported.
    expect(logged.some((line) => line.includes("authentication failed"))).toBe(true);
    const key = /SharedAccessKey=([^;]+)/.exec(wrongKey)?.[1] ?? "";
    for (const text of [...logged, (error as Error).message]) expect(text).not.toContain(key);
  });

  it("reports the admin helpers' authentication failure as a KafkaError", async () => {
    const good = eventHubsEnv();
    const wrongKey = good.EVENT_HUB_CONNECTION_STRING.replace(
      /SharedAccessKey=[^;]+/,
      "SharedAccessKey=d3Jvbmc=",
    );
    const kafka = createKafka(kafkaConnectionFromEnv({ ...good, EVENT_HUB_CONNECTION_STRING: wrongKey }), {
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const error = await ensureTopic(kafka, { topic: hub.topic, partitions: 1 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KafkaError);
    expect(error).toMatchObject({ code: "ADP_KAFKA_AUTHENTICATION_FAILED" });
  });

  it("fails at configuration time, naming the variable, for a malformed connection string", () => {
    expect(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_CONNECTION_STRING: "Endpoint=sb://127.0.0.1:9093/;SharedAccessKey=abc",
      }),
    ).toThrow(ConfigError);
  });
});
