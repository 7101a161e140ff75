import { ConfigError } from "./errors.js";

/** The port of Azure Event Hubs' Kafka endpoint. */
export const EVENT_HUBS_KAFKA_PORT = 9093;

/** Azure clouds' Event Hubs namespace domains: their Kafka endpoint is always <namespace host>:9093. */
const AZURE_NAMESPACE_HOST =
  /\.servicebus\.(?:windows\.net|chinacloudapi\.cn|usgovcloudapi\.net|cloudapi\.de)$/i;

/** A parsed Event Hubs connection string. `sharedAccessKey` is a secret: never log it. */
export interface EventHubsConnectionString {
  /** As written, e.g. `sb://my-ns.servicebus.windows.net/`. */
  readonly endpoint: string;
  /** The namespace host, e.g. `my-ns.servicebus.windows.net` (or `127.0.0.1` for the local emulation). */
  readonly host: string;
  /** The Kafka port: 9093 on Azure; the endpoint's own port (default 9093) elsewhere. */
  readonly port: number;
  /** `host:port`, what Kafka clients take as their bootstrap broker. */
  readonly broker: string;
  /** True for a real Azure namespace host, false for a local emulation. */
  readonly isAzure: boolean;
  readonly sharedAccessKeyName: string;
  readonly sharedAccessKey: string;
  /** The event hub (Kafka topic) when the string is scoped to one. */
  readonly entityPath?: string;
}

/**
 * Parses `Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=<name>;SharedAccessKey=<key>[;EntityPath=<hub>]`.
 * Keys are case-insensitive and may come in any order, as Azure's own SDKs accept them.
 * Errors name `variable` and never include the string or the key.
 */
export function parseEventHubsConnectionString(
  connectionString: string,
  variable = "EVENT_HUB_CONNECTION_STRING",
): EventHubsConnectionString {
  const fail = (message: string): never => {
    throw new ConfigError("invalid_connection_string", [{ variable, message }]);
  };
  const parts = new Map<string, string>();
  for (const segment of connectionString.trim().split(";")) {
    if (segment.trim() === "") continue;
    const separator = segment.indexOf("=");
    if (separator <= 0) fail("expected Key=Value pairs separated by ';'");
    const key = segment.slice(0, separator).trim().toLowerCase();
    // Base64 keys end in '=': only the first '=' separates key from value.
    const value = segment.slice(separator + 1).trim();
    if (parts.has(key)) fail(`the key ${segment.slice(0, separator).trim()} appears twice`);
    parts.set(key, value);
  }

  if (parts.has("sharedaccesssignature")) {
    fail(
      "SharedAccessSignature connection strings are not supported: use one with SharedAccessKeyName and SharedAccessKey",
    );
  }
  const endpoint =
    parts.get("endpoint") ||
    fail("Endpoint is missing (expected Endpoint=sb://<namespace>.servicebus.windows.net/)");
  const sharedAccessKeyName = parts.get("sharedaccesskeyname") || fail("SharedAccessKeyName is missing");
  const sharedAccessKey = parts.get("sharedaccesskey") || fail("SharedAccessKey is missing");
  const entityPath = parts.get("entitypath") || undefined;

  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return fail("Endpoint is not a URL (expected sb://<namespace>.servicebus.windows.net/)");
  }
  if (url.protocol !== "sb:") fail(`Endpoint must use the sb:// scheme, not ${url.protocol}//`);
  // sb: is not a "special" scheme, so URL keeps IPv6 brackets and any case in hostname; normalise.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (host === "") fail("Endpoint has no host");
  if (url.username !== "" || url.password !== "") fail("Endpoint must not contain credentials");

  const isAzure = AZURE_NAMESPACE_HOST.test(host);
  const port = isAzure || url.port === "" ? EVENT_HUBS_KAFKA_PORT : Number(url.port);
  const broker = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    endpoint,
    host,
    port,
    broker,
    isAzure,
    sharedAccessKeyName,
    sharedAccessKey,
    ...(entityPath === undefined ? {} : { entityPath }),
  };
}

/** An Event Hubs namespace reached with Entra ID (EVENT_HUB_NAMESPACE). */
export interface EventHubsNamespace {
  /** The namespace host, e.g. `my-ns.servicebus.windows.net` (or `127.0.0.1` for a local test broker). */
  readonly host: string;
  readonly port: number;
  /** `host:port`, the Kafka bootstrap broker. */
  readonly broker: string;
  readonly isAzure: boolean;
  /** The Entra ID scope of its tokens: `https://<host>/.default`. */
  readonly scope: string;
}

/**
 * Parses `<ns>.servicebus.windows.net` (also with `:9093`, or as `sb://<ns>.servicebus.windows.net/` copied from a
 * connection string's Endpoint). Azure namespaces always use port 9093; another host (a local test broker) may
 * name its port, default 9093. Errors name `variable`.
 */
export function parseEventHubsNamespace(text: string, variable = "EVENT_HUB_NAMESPACE"): EventHubsNamespace {
  const fail = (message: string): never => {
    throw new ConfigError("invalid_env", [{ variable, message }]);
  };
  const trimmed = text
    .trim()
    .replace(/^sb:\/\//i, "")
    .replace(/\/$/, "");
  if (trimmed === "") fail("expected <namespace>.servicebus.windows.net");
  if (/[/@?#;=\s]/.test(trimmed)) {
    fail("expected a host name like <namespace>.servicebus.windows.net (no path, credentials or key)");
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/.exec(trimmed);
  if (match === null) return fail("expected <namespace>.servicebus.windows.net[:9093]");
  const host = (match[1] ?? "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const isAzure = AZURE_NAMESPACE_HOST.test(host);
  const port = match[2] === undefined ? EVENT_HUBS_KAFKA_PORT : Number(match[2]);
  if (isAzure && port !== EVENT_HUBS_KAFKA_PORT) {
    fail(`Azure Event Hubs' Kafka endpoint is on port ${EVENT_HUBS_KAFKA_PORT}, not ${port}`);
  }
  if (port < 1 || port > 65_535) fail("the port must be 1-65535");
  // A bare namespace name is the likely mistake ("my-ns" for "my-ns.servicebus.windows.net").
  if (!host.includes(".") && !host.includes(":") && host !== "localhost") {
    fail(`"${host}" is not a namespace host: write the full name, <namespace>.servicebus.windows.net`);
  }
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return { host, port, broker: `${bracketed}:${port}`, isAzure, scope: `https://${bracketed}/.default` };
}
