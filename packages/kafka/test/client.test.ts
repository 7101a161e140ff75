import { kafkaConnectionFromEnv } from "@adpipe/config";
import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import {
  AdpipeKafka,
  consumerDefaults,
  createKafka,
  EVENT_HUBS_SETTINGS,
  kafkaClientConfig,
  producerDefaults,
} from "../src/client.js";

const KEY = "dW5pdC10ZXN0LWtleS1ub3QtYS1yZWFsLXNlY3JldC0x";
const eventHubs = kafkaConnectionFromEnv({
  EVENT_HUB_CONNECTION_STRING: `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY};EntityPath=clicks`,
});
const plain = kafkaConnectionFromEnv({ KAFKA_BROKERS: "k1:9092,k2:9092", KAFKA_CLIENT_ID: "svc" });

describe("kafkaClientConfig", () => {
  it("applies Azure's recommended timeouts, TLS and $ConnectionString SASL for Event Hubs", () => {
    const config = kafkaClientConfig(eventHubs);
    expect(config).toMatchObject({
      brokers: ["ns.servicebus.windows.net:9093"],
      ssl: true,
      requestTimeout: 60_000,
      connectionTimeout: 10_000,
      enforceRequestTimeout: true,
      retry: { retries: 10 },
    });
    expect(config.sasl).toEqual({
      mechanism: "plain",
      username: "$ConnectionString",
      password: eventHubs.sasl?.password,
    });
  });

  it("uses plain settings for Kafka and lets callers override timeouts and retries", () => {
    const config = kafkaClientConfig(plain, {
      retry: { retries: 0 },
      requestTimeout: 1_234,
      logLevel: logLevel.ERROR,
    });
    expect(config).toMatchObject({
      clientId: "svc",
      brokers: ["k1:9092", "k2:9092"],
      ssl: false,
      requestTimeout: 1_234,
    });
    expect(config.retry).toEqual({ retries: 0 });
    expect(config.logLevel).toBe(logLevel.ERROR);
    expect(config.sasl).toBeUndefined();
  });
});

describe("producer and consumer defaults", () => {
  it("set Event Hubs' metadata max age, session timeout and heartbeat", () => {
    expect(producerDefaults(eventHubs)).toMatchObject({
      allowAutoTopicCreation: false,
      metadataMaxAge: 180_000,
    });
    expect(consumerDefaults(eventHubs)).toMatchObject({
      allowAutoTopicCreation: false,
      metadataMaxAge: EVENT_HUBS_SETTINGS.metadataMaxAge,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
  });

  it("never auto-create topics on plain Kafka either", () => {
    expect(producerDefaults(plain).allowAutoTopicCreation).toBe(false);
    expect(producerDefaults(plain).metadataMaxAge).toBeUndefined();
    expect(consumerDefaults(plain).allowAutoTopicCreation).toBe(false);
  });
});

describe("createKafka", () => {
  it("returns a kafkajs client that remembers its connection", () => {
    const kafka = createKafka(eventHubs);
    expect(kafka).toBeInstanceOf(AdpipeKafka);
    expect(kafka.connection).toBe(eventHubs);
    expect(typeof kafka.producer().send).toBe("function");
  });
});
