import { ConfigError } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { createSink } from "../../src/command.js";
import { parseSimulatorOptions } from "../../src/options.js";
import { EventHubsSdkSink } from "../../src/sinks/event-hubs-sdk-sink.js";

const sdk = parseSimulatorOptions({ rate: "10", count: "10", transport: "event-hubs-sdk", progress: "none" });
const SECRET = "app-client-secret-value-0123";

describe("the AMQP sink (--transport event-hubs-sdk) with Entra ID", () => {
  it("takes the namespace and the AZURE_AUTH credential of the Kafka configuration", () => {
    const sink = createSink(sdk, {
      EVENT_HUB_NAMESPACE: "my-ns.servicebus.windows.net",
      EVENT_HUB_NAME: "clicks",
      AZURE_AUTH: "client-secret",
      AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      AZURE_CLIENT_ID: "0f3b5a4c-1d2e-4f60-8a9b-0c1d2e3f4a5b",
      AZURE_CLIENT_SECRET: SECRET,
    });
    expect(sink).toBeInstanceOf(EventHubsSdkSink);
    expect(sink.topic).toBe("clicks");
    expect(sink.description).toBe(
      "Event Hubs SDK (AMQP) my-ns.servicebus.windows.net with Entra ID (AZURE_AUTH=client-secret), event hub clicks",
    );
    expect(JSON.stringify(sink)).not.toContain(SECRET);
  });

  it("refuses the same bad combinations as the Kafka path, by variable", () => {
    try {
      createSink(sdk, { EVENT_HUB_NAMESPACE: "my-ns.servicebus.windows.net" });
      throw new Error("expected a ConfigError");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe("AZURE_AUTH");
    }
    expect(() => createSink(sdk, {})).toThrow(
      /EVENT_HUB_CONNECTION_STRING: required by --transport event-hubs-sdk/,
    );
  });

  it("a connection-string sink does not show its key when serialized", () => {
    const key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=";
    const sink = new EventHubsSdkSink(
      `Endpoint=sb://my-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${key}`,
      "hub",
    );
    expect(JSON.stringify(sink)).not.toContain(key);
  });

  it("accepts an injected TokenCredential", () => {
    const sink = new EventHubsSdkSink(
      { namespace: "my-ns.servicebus.windows.net", credential: { getToken: async () => null } },
      "hub",
    );
    expect(sink.description).toContain("with Entra ID (a given credential)");
  });
});
