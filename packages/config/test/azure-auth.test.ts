import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import {
  AzureCliCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from "@azure/identity";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { AZURE_AUTH_MODES, azureAuthFromEnv, createAzureCredential } from "../src/azure-auth.js";
import { parseEventHubsNamespace } from "../src/event-hubs.js";
import { kafkaConnectionFromEnv, kafkaConnectionSecrets } from "../src/kafka.js";
import { configError } from "./config-error.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "0f3b5a4c-1d2e-4f60-8a9b-0c1d2e3f4a5b";
const SECRET = "client~secret.value_for-tests-0123456789";

const dir = mkdtempSync(join(tmpdir(), "adpipe-azure-auth-test-"));
const tokenFile = join(dir, "azure-identity-token");
writeFileSync(tokenFile, "a.federated.token");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WORKLOAD = {
  AZURE_AUTH: "workload-identity",
  AZURE_CLIENT_ID: CLIENT,
  AZURE_TENANT_ID: TENANT,
  AZURE_FEDERATED_TOKEN_FILE: tokenFile,
};

describe("parseEventHubsNamespace", () => {
  it("accepts the namespace host, with :9093 or as the sb:// endpoint, and derives the token scope", () => {
    for (const text of [
      "my-ns.servicebus.windows.net",
      "My-NS.servicebus.windows.net:9093",
      "sb://my-ns.servicebus.windows.net/",
    ]) {
      expect(parseEventHubsNamespace(text)).toEqual({
        host: "my-ns.servicebus.windows.net",
        port: 9093,
        broker: "my-ns.servicebus.windows.net:9093",
        isAzure: true,
        scope: "https://my-ns.servicebus.windows.net/.default",
      });
    }
    expect(parseEventHubsNamespace("ns.servicebus.usgovcloudapi.net").scope).toBe(
      "https://ns.servicebus.usgovcloudapi.net/.default",
    );
  });

  it("lets a local test broker name its port", () => {
    expect(parseEventHubsNamespace("127.0.0.1:19321")).toMatchObject({
      broker: "127.0.0.1:19321",
      isAzure: false,
      scope: "https://127.0.0.1/.default",
    });
  });

  it.each([
    ["my-ns", "not a namespace host"],
    ["my-ns.servicebus.windows.net:443", "port 9093"],
    ["Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=abc", "no path, credentials or key"],
    ["https://my-ns.servicebus.windows.net/path", "no path"],
    ["", "expected"],
  ])("rejects %j, naming EVENT_HUB_NAMESPACE", (text, message) => {
    const error = configError(() => parseEventHubsNamespace(text));
    expect(error.variable).toBe("EVENT_HUB_NAMESPACE");
    expect(error.message).toContain(message);
    expect(error.message).not.toContain("SharedAccessKey=abc");
  });
});

describe("kafkaConnectionFromEnv: Event Hubs with Entra ID (EVENT_HUB_NAMESPACE)", () => {
  it("connects with SASL OAUTHBEARER over TLS, scope from the namespace, topic from EVENT_HUB_NAME", () => {
    const connection = kafkaConnectionFromEnv(
      { EVENT_HUB_NAMESPACE: "my-ns.servicebus.windows.net", EVENT_HUB_NAME: "clicks", ...WORKLOAD },
      { clientId: "adpipe-ingestor" },
    );
    expect(connection).toMatchObject({
      flavor: "event-hubs",
      clientId: "adpipe-ingestor",
      brokers: ["my-ns.servicebus.windows.net:9093"],
      ssl: true,
      topic: "clicks",
      canCreateTopics: false,
    });
    expect(connection.sasl).toBeUndefined();
    expect(connection.oauth?.mechanism).toBe("oauthbearer");
    expect(connection.oauth?.scope).toBe("https://my-ns.servicebus.windows.net/.default");
    expect({ ...connection.oauth?.auth }).toEqual({
      mode: "workload-identity",
      clientId: CLIENT,
      tenantId: TENANT,
      federatedTokenFile: tokenFile,
    });
  });

  it("takes KAFKA_TOPIC when EVENT_HUB_NAME is unset, and the service default after that", () => {
    const base = { EVENT_HUB_NAMESPACE: "n.servicebus.windows.net", AZURE_AUTH: "azure-cli" };
    expect(kafkaConnectionFromEnv({ ...base, KAFKA_TOPIC: "t" }).topic).toBe("t");
    expect(kafkaConnectionFromEnv({ ...base, KAFKA_TOPIC: "t", EVENT_HUB_NAME: "t" }).topic).toBe("t");
    expect(kafkaConnectionFromEnv(base, { topic: "d" }).topic).toBe("d");
  });

  it.each(AZURE_AUTH_MODES)("accepts AZURE_AUTH=%s with its variables", (mode) => {
    const env = {
      "workload-identity": WORKLOAD,
      "managed-identity": { AZURE_AUTH: "managed-identity" },
      "client-secret": {
        AZURE_AUTH: "client-secret",
        AZURE_TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        AZURE_CLIENT_SECRET: SECRET,
      },
      "azure-cli": { AZURE_AUTH: "Azure-CLI" },
    }[mode];
    const connection = kafkaConnectionFromEnv({ EVENT_HUB_NAMESPACE: "n.servicebus.windows.net", ...env });
    expect(connection.oauth?.auth.mode).toBe(mode);
  });

  it("names every bad combination: key and namespace, brokers, SASL, TLS off, missing AZURE_AUTH", () => {
    const error = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
        EVENT_HUB_CONNECTION_STRING:
          "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=c2VjcmV0LWtleQ==",
        KAFKA_BROKERS: "k:9092",
        KAFKA_SASL_PASSWORD: "pw-0123",
        KAFKA_SSL: "false",
      }),
    );
    expect(error.variables.sort()).toEqual([
      "AZURE_AUTH",
      "EVENT_HUB_CONNECTION_STRING",
      "KAFKA_BROKERS",
      "KAFKA_SASL_PASSWORD",
      "KAFKA_SSL",
    ]);
    expect(error.message).toContain("AZURE_AUTH: required with EVENT_HUB_NAMESPACE");
    expect(error.message).not.toContain("c2VjcmV0LWtleQ");
    expect(error.message).not.toContain("pw-0123");
  });

  it("requires each mode's variables, and says where workload identity's come from", () => {
    const workload = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
        AZURE_AUTH: "workload-identity",
      }),
    );
    expect(workload.variables.sort()).toEqual([
      "AZURE_CLIENT_ID",
      "AZURE_FEDERATED_TOKEN_FILE",
      "AZURE_TENANT_ID",
    ]);
    expect(workload.message).toContain("azure.workload.identity/use=true");
    const secret = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
        AZURE_AUTH: "client-secret",
        AZURE_CLIENT_ID: CLIENT,
      }),
    );
    expect(secret.variables.sort()).toEqual(["AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"]);
  });

  it("rejects an unreadable federated token file, a stray client secret and a bad AZURE_AUTH", () => {
    const missingFile = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
        ...WORKLOAD,
        AZURE_FEDERATED_TOKEN_FILE: join(dir, "absent"),
      }),
    );
    expect(missingFile.code).toBe("ADP_CONFIG_UNREADABLE_FILE");
    expect(missingFile.variable).toBe("AZURE_FEDERATED_TOKEN_FILE");
    const stray = configError(() =>
      kafkaConnectionFromEnv({
        EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
        AZURE_AUTH: "managed-identity",
        AZURE_CLIENT_SECRET: SECRET,
      }),
    );
    expect(stray.variable).toBe("AZURE_CLIENT_SECRET");
    expect(stray.message).not.toContain(SECRET);
    const bad = configError(() =>
      kafkaConnectionFromEnv({ EVENT_HUB_NAMESPACE: "n.servicebus.windows.net", AZURE_AUTH: "password" }),
    );
    expect(bad.variable).toBe("AZURE_AUTH");
    expect(bad.code).toBe("ADP_CONFIG_INVALID_ENV");
  });

  it("rejects EVENT_HUB_NAME with plain Kafka and EVENT_HUB_NAME differing from KAFKA_TOPIC", () => {
    expect(configError(() => kafkaConnectionFromEnv({ EVENT_HUB_NAME: "h" })).variable).toBe(
      "EVENT_HUB_NAME",
    );
    expect(
      configError(() =>
        kafkaConnectionFromEnv({
          EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
          AZURE_AUTH: "azure-cli",
          EVENT_HUB_NAME: "a",
          KAFKA_TOPIC: "b",
        }),
      ).variable,
    ).toBe("EVENT_HUB_NAME");
  });

  it("never shows the client secret in JSON, util.inspect or errors; lists it among the connection's secrets", () => {
    const connection = kafkaConnectionFromEnv({
      EVENT_HUB_NAMESPACE: "n.servicebus.windows.net",
      AZURE_AUTH: "client-secret",
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: SECRET,
    });
    for (const text of [
      JSON.stringify(connection),
      inspect(connection, { depth: 10 }),
      JSON.stringify(connection.oauth),
      inspect(connection.oauth?.auth),
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(JSON.parse(JSON.stringify(connection)).oauth.auth).toEqual({
      mode: "client-secret",
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: "[redacted]",
    });
    expect(connection.oauth?.auth.clientSecret).toBe(SECRET);
    expect(kafkaConnectionSecrets(connection)).toEqual([SECRET]);
  });

  it("property: a namespace host always yields broker <host>:9093 and scope https://<host>/.default", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9-]{4,48}[a-z0-9]$/),
        fc.constantFrom(
          "servicebus.windows.net",
          "servicebus.chinacloudapi.cn",
          "servicebus.usgovcloudapi.net",
        ),
        (name, domain) => {
          const host = `${name}.${domain}`;
          const connection = kafkaConnectionFromEnv({ EVENT_HUB_NAMESPACE: host, AZURE_AUTH: "azure-cli" });
          expect(connection.brokers).toEqual([`${host}:9093`]);
          expect(connection.oauth?.scope).toBe(`https://${host}/.default`);
        },
      ),
    );
  });
});

describe("createAzureCredential: AZURE_AUTH picks @azure/identity's credential class", () => {
  it.each([
    [WORKLOAD, WorkloadIdentityCredential],
    [{ AZURE_AUTH: "managed-identity" }, ManagedIdentityCredential],
    [{ AZURE_AUTH: "managed-identity", AZURE_CLIENT_ID: CLIENT }, ManagedIdentityCredential],
    [
      {
        AZURE_AUTH: "client-secret",
        AZURE_TENANT_ID: TENANT,
        AZURE_CLIENT_ID: CLIENT,
        AZURE_CLIENT_SECRET: SECRET,
      },
      ClientSecretCredential,
    ],
    [{ AZURE_AUTH: "azure-cli" }, AzureCliCredential],
  ] as const)("%j", async (env, expected) => {
    const credential = await createAzureCredential(azureAuthFromEnv(env));
    expect(credential).toBeInstanceOf(expected);
  });

  it("azureAuthFromEnv names the consumer in its error", () => {
    const error = configError(() => azureAuthFromEnv({}, "LAKE_STORAGE=azure"));
    expect(error.message).toContain("AZURE_AUTH: required with LAKE_STORAGE=azure");
  });
});
