import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaConnection, kafkaConnectionFromConfig, kafkaConnectionFromEnv } from "../src/kafka.js";
import { configError } from "./config-error.js";

const KEY = "bG9jYWwtdGVzdC1rZXktdGhhdC1pcy1ub3QtcmVhbDE=";
const AZURE = `Endpoint=sb://my-ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY};EntityPath=clicks`;
const LOCAL = `Endpoint=sb://127.0.0.1:9093/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${KEY};EntityPath=ad-clicks`;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

const dir = mkdtempSync(join(tmpdir(), "adpipe-config-test-"));
const caFile = join(dir, "ca.pem");
writeFileSync(caFile, PEM);
const notPem = join(dir, "not.pem");
writeFileSync(notPem, "hello");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kafkaConnectionFromEnv: plain Kafka", () => {
  it("defaults to the local broker and the ad-clicks topic", () => {
    expect({ ...kafkaConnectionFromEnv({}) }).toEqual({
      flavor: "kafka",
      clientId: "adpipe",
      brokers: ["127.0.0.1:9092"],
      ssl: false,
      topic: "ad-clicks",
      canCreateTopics: true,
    });
  });

  it("takes brokers, topic, client id and service defaults", () => {
    const connection = kafkaConnectionFromEnv(
      { KAFKA_BROKERS: "k1:9092, k2:19092", KAFKA_TOPIC: "my.topic_1" },
      { clientId: "ingestor", topic: "ignored-because-set" },
    );
    expect(connection).toMatchObject({
      brokers: ["k1:9092", "k2:19092"],
      topic: "my.topic_1",
      clientId: "ingestor",
    });
    expect(kafkaConnectionFromEnv({ KAFKA_CLIENT_ID: "x" }, { clientId: "ingestor" }).clientId).toBe("x");
  });

  it("takes the replication factor of created topics from KAFKA_REPLICATION_FACTOR, unset by default", () => {
    expect(kafkaConnectionFromEnv({ KAFKA_REPLICATION_FACTOR: "3" }).replicationFactor).toBe(3);
    expect(kafkaConnectionFromEnv({})).not.toHaveProperty("replicationFactor");
    expect(() => kafkaConnectionFromEnv({ KAFKA_REPLICATION_FACTOR: "0" })).toThrow(
      /KAFKA_REPLICATION_FACTOR/,
    );
  });

  it("turns TLS on with a CA file and reads the file at load", () => {
    const connection = kafkaConnectionFromEnv({ KAFKA_SSL_CA_FILE: caFile });
    expect(connection.ssl).toEqual({ ca: [PEM], rejectUnauthorized: true });
    expect(kafkaConnectionFromEnv({ KAFKA_SSL: "true" }).ssl).toBe(true);
  });

  it("builds SASL credentials, plain by default", () => {
    const connection = kafkaConnectionFromEnv({
      KAFKA_BROKERS: "k:9096",
      KAFKA_SSL: "yes",
      KAFKA_SASL_USERNAME: "svc",
      KAFKA_SASL_PASSWORD: "pw-123456",
    });
    expect({ ...connection.sasl }).toEqual({ mechanism: "plain", username: "svc", password: "pw-123456" });
    const scram = kafkaConnectionFromEnv({
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "svc",
      KAFKA_SASL_PASSWORD: "pw",
    });
    expect(scram.sasl?.mechanism).toBe("scram-sha-512");
  });

  it("reports every bad variable at once, by name", () => {
    const error = configError(() =>
      kafkaConnectionFromEnv({
        KAFKA_BROKERS: "no-port",
        KAFKA_SSL: "sometimes",
        KAFKA_TOPIC: "bad topic!",
        KAFKA_SASL_MECHANISM: "gssapi",
      }),
    );
    expect(error.variables.sort()).toEqual([
      "KAFKA_BROKERS",
      "KAFKA_SASL_MECHANISM",
      "KAFKA_SSL",
      "KAFKA_TOPIC",
    ]);
  });

  it("requires both SASL username and password", () => {
    const error = configError(() =>
      kafkaConnectionFromEnv({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "s3cret" }),
    );
    expect(error.variables).toEqual(["KAFKA_SASL_USERNAME"]);
    expect(error.message).not.toContain("s3cret");
  });

  it("names KAFKA_SSL_CA_FILE when the file is missing or not PEM", () => {
    const missing = configError(() => kafkaConnectionFromEnv({ KAFKA_SSL_CA_FILE: join(dir, "absent.pem") }));
    expect(missing).toMatchObject({ code: "ADP_CONFIG_UNREADABLE_FILE", variable: "KAFKA_SSL_CA_FILE" });
    expect(missing.message).toContain("ENOENT");
    expect(configError(() => kafkaConnectionFromEnv({ KAFKA_SSL_CA_FILE: notPem })).message).toMatch(
      /no PEM/,
    );
    expect(
      configError(() => kafkaConnectionFromEnv({ KAFKA_SSL: "false", KAFKA_SSL_CA_FILE: caFile })).variable,
    ).toBe("KAFKA_SSL");
  });
});

describe("kafkaConnectionFromEnv: Event Hubs", () => {
  it("maps a connection string to kafkajs options", () => {
    const connection = kafkaConnectionFromEnv({ EVENT_HUB_CONNECTION_STRING: AZURE });
    expect(connection).toMatchObject({
      flavor: "event-hubs",
      brokers: ["my-ns.servicebus.windows.net:9093"],
      ssl: true,
      topic: "clicks",
      canCreateTopics: false,
    });
    expect({ ...connection.sasl }).toEqual({
      mechanism: "plain",
      username: "$ConnectionString",
      password: AZURE,
    });
  });

  it("lets KAFKA_TOPIC override EntityPath and trusts a given CA (local emulation)", () => {
    const connection = kafkaConnectionFromEnv({
      EVENT_HUB_CONNECTION_STRING: LOCAL,
      KAFKA_SSL_CA_FILE: caFile,
      KAFKA_TOPIC: "t-1",
    });
    expect(connection).toMatchObject({ brokers: ["127.0.0.1:9093"], topic: "t-1", ssl: { ca: [PEM] } });
  });

  it("falls back to the default topic without EntityPath", () => {
    const withoutHub = AZURE.replace(";EntityPath=clicks", "");
    expect(kafkaConnectionFromEnv({ EVENT_HUB_CONNECTION_STRING: withoutHub }).topic).toBe("ad-clicks");
    expect(kafkaConnectionFromEnv({ EVENT_HUB_CONNECTION_STRING: withoutHub }, { topic: "x" }).topic).toBe(
      "x",
    );
  });

  it("rejects mixing it with KAFKA_BROKERS, SASL settings or KAFKA_SSL=false", () => {
    const error = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_CONNECTION_STRING: AZURE,
        KAFKA_BROKERS: "k:9092",
        KAFKA_SSL: "false",
        KAFKA_SASL_USERNAME: "u",
      }),
    );
    expect(error.variables.sort()).toEqual(["KAFKA_BROKERS", "KAFKA_SASL_USERNAME", "KAFKA_SSL"]);
    expect(error.message).not.toContain(KEY);
  });

  it("reports a malformed string together with other bad variables, never echoing the key", () => {
    const error = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_CONNECTION_STRING: `Endpoint=http://x/;SharedAccessKey=${KEY}`,
        KAFKA_SSL: "maybe",
      }),
    );
    expect(error.variables.sort()).toEqual(["EVENT_HUB_CONNECTION_STRING", "KAFKA_SSL"]);
    expect(error.message).not.toContain(KEY);
  });
});

describe("a KafkaConnection is safe to log", () => {
  const connection = kafkaConnectionFromEnv({
    EVENT_HUB_CONNECTION_STRING: LOCAL,
    KAFKA_SSL_CA_FILE: caFile,
  });

  it("hides the password from JSON.stringify and util.inspect", () => {
    const json = JSON.stringify({ connection });
    const inspected = inspect(connection, { depth: 5 });
    for (const text of [json, inspected, JSON.stringify(connection.sasl), inspect(connection.sasl)]) {
      expect(text).not.toContain(KEY);
      expect(text).toContain("[redacted]");
    }
    expect(JSON.parse(json).connection.sasl.username).toBe("$ConnectionString");
    expect(inspected).not.toContain("BEGIN CERTIFICATE");
  });

  it("still hands the real password to code that reads it", () => {
    expect(connection.sasl?.password).toBe(LOCAL);
    expect({ ...connection.sasl }.password).toBe(LOCAL);
  });

  it("is frozen, and kafkaConnection() protects hand-built connections too", () => {
    expect(Object.isFrozen(connection)).toBe(true);
    const built = kafkaConnection({
      flavor: "kafka",
      clientId: "c",
      brokers: ["b:1"],
      ssl: false,
      sasl: { mechanism: "scram-sha-256", username: "u", password: "hand-made-secret" },
      topic: "t",
      canCreateTopics: true,
    });
    expect(JSON.stringify(built)).not.toContain("hand-made-secret");
    expect(inspect(built)).not.toContain("hand-made-secret");
  });

  it("kafkaConnectionFromConfig accepts pre-parsed variables", () => {
    expect(kafkaConnectionFromConfig({ KAFKA_BROKERS: ["a:1"] }).brokers).toEqual(["a:1"]);
  });
});
