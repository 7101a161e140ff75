import { describe, expect, it } from "vitest";
import type { ConfigError } from "../src/errors.js";
import { parseEventHubsConnectionString } from "../src/event-hubs.js";
import { configError } from "./config-error.js";

const KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=";

function failure(text: string): ConfigError {
  return configError(() => parseEventHubsConnectionString(text));
}

describe("parseEventHubsConnectionString", () => {
  it("parses an Azure namespace string: broker <namespace>:9093 and the hub from EntityPath", () => {
    const parsed = parseEventHubsConnectionString(
      `Endpoint=sb://my-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY};EntityPath=clicks`,
    );
    expect(parsed).toEqual({
      endpoint: "sb://my-ns.servicebus.windows.net/",
      host: "my-ns.servicebus.windows.net",
      port: 9093,
      broker: "my-ns.servicebus.windows.net:9093",
      isAzure: true,
      sharedAccessKeyName: "send",
      sharedAccessKey: KEY,
      entityPath: "clicks",
    });
  });

  it("keeps the trailing '=' of base64 keys, accepts any key case and order, and no EntityPath", () => {
    const parsed = parseEventHubsConnectionString(
      ` sharedaccesskey=${KEY};ENDPOINT=sb://NS.ServiceBus.Windows.Net;SharedAccessKeyName=root; `,
    );
    expect(parsed.sharedAccessKey).toBe(KEY);
    expect(parsed.host).toBe("ns.servicebus.windows.net");
    expect(parsed.broker).toBe("ns.servicebus.windows.net:9093");
    expect(parsed.entityPath).toBeUndefined();
    expect("entityPath" in parsed).toBe(false);
  });

  it("uses 9093 for Azure hosts even when the endpoint names another port", () => {
    const parsed = parseEventHubsConnectionString(
      `Endpoint=sb://ns.servicebus.chinacloudapi.cn:5671/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`,
    );
    expect(parsed.port).toBe(9093);
    expect(parsed.isAzure).toBe(true);
  });

  it("uses a local emulation's own host and port, default 9093", () => {
    const local = parseEventHubsConnectionString(
      `Endpoint=sb://127.0.0.1:19093/;SharedAccessKeyName=a;SharedAccessKey=${KEY};EntityPath=hub`,
    );
    expect(local).toMatchObject({
      host: "127.0.0.1",
      port: 19093,
      broker: "127.0.0.1:19093",
      isAzure: false,
    });
    const noPort = parseEventHubsConnectionString(
      `Endpoint=sb://localhost/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`,
    );
    expect(noPort.broker).toBe("localhost:9093");
  });

  it.each([
    ["", /Endpoint is missing/],
    [`SharedAccessKeyName=a;SharedAccessKey=${KEY}`, /Endpoint is missing/],
    [`Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=${KEY}`, /SharedAccessKeyName is missing/],
    ["Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a", /SharedAccessKey is missing/],
    [
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=`,
      /SharedAccessKey is missing/,
    ],
    [`Endpoint=https://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, /sb:\/\//],
    [`Endpoint=not a url;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, /not a URL/],
    [`Endpoint=sb://u:p@ns/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, /credentials/],
    [
      `Endpoint=sb://ns/;SharedAccessKeyName=a;SharedAccessKey=${KEY};sharedaccesskey=${KEY}`,
      /appears twice/,
    ],
    [`Endpoint=sb://ns/;garbage;SharedAccessKey=${KEY}`, /Key=Value/],
    [
      "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=x&sig=abc&se=1&skn=a",
      /SharedAccessSignature connection strings are not supported/,
    ],
  ])("rejects %j with a clear message naming the variable and no key", (text, expected) => {
    const error = failure(text);
    expect(error.code).toBe("ADP_CONFIG_INVALID_CONNECTION_STRING");
    expect(error.variable).toBe("EVENT_HUB_CONNECTION_STRING");
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toContain("sig=abc");
  });

  it("names the variable the caller passes", () => {
    expect(() => parseEventHubsConnectionString("nope", "MY_HUB")).toThrow(/MY_HUB/);
  });
});
