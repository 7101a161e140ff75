import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { z } from "zod";
import {
  type AzureAuth,
  azureAuth,
  azureAuthEnvSchema,
  azureAuthFromConfig,
  describeAzureAuth,
} from "./azure-auth.js";
import { type Env, envVar, parseEnv } from "./env.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { parseEventHubsConnectionString, parseEventHubsNamespace } from "./event-hubs.js";
import { REDACTED } from "./redact.js";

export const KAFKA_FLAVORS = ["kafka", "event-hubs"] as const;
export type KafkaFlavor = (typeof KAFKA_FLAVORS)[number];

export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The username Azure Event Hubs' Kafka endpoint expects; the password is the connection string. */
export const EVENT_HUBS_SASL_USERNAME = "$ConnectionString";
export const DEFAULT_KAFKA_BROKERS = ["127.0.0.1:9092"] as const;
export const DEFAULT_KAFKA_TOPIC = "ad-clicks";
export const DEFAULT_KAFKA_CLIENT_ID = "adpipe";

export interface SaslCredentials {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  /** Secret. Hidden from JSON.stringify and util.inspect (see kafkaConnection()). */
  readonly password: string;
}

export type KafkaSsl = boolean | { readonly ca: string[]; readonly rejectUnauthorized: true };

/**
 * SASL OAUTHBEARER with Microsoft Entra ID tokens (Event Hubs without a key). The connection holds which credential
 * to use, not a token: @adpipe/kafka gets and refreshes tokens for `scope`.
 */
export interface KafkaOAuth {
  readonly mechanism: "oauthbearer";
  /** `https://<namespace host>/.default`: what Event Hubs accepts as the token audience. */
  readonly scope: string;
  readonly auth: AzureAuth;
}

/** Everything a Kafka client needs to reach the cluster, in kafkajs terms. Safe to log as a whole. */
export interface KafkaConnection {
  readonly flavor: KafkaFlavor;
  readonly clientId: string;
  readonly brokers: string[];
  readonly ssl: KafkaSsl;
  readonly sasl?: SaslCredentials;
  /** Entra ID OAuth instead of a password (EVENT_HUB_NAMESPACE); never together with `sasl`. */
  readonly oauth?: KafkaOAuth;
  /** The topic (event hub) the pipeline reads and writes. */
  readonly topic: string;
  /** False on Event Hubs: event hubs cannot be created through the Kafka admin API. */
  readonly canCreateTopics: boolean;
  /** Replication factor of topics the pipeline creates (KAFKA_REPLICATION_FACTOR); unset: from the cluster size. */
  readonly replicationFactor?: number;
}

// Kafka's rule for topic names; Event Hubs names are a subset of it.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER_ADDRESS = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+):(\d{1,5})$/;

/** Environment variables for Kafka or Event Hubs. Spread `.shape` into a service's own schema. */
export const kafkaEnvSchema = z.object({
  /** Comma-separated host:port list of a plain Kafka cluster. Default 127.0.0.1:9092. */
  KAFKA_BROKERS: envVar
    .list()
    .pipe(
      z.array(
        z.string().refine((broker) => {
          const port = BROKER_ADDRESS.exec(broker)?.[1];
          return port !== undefined && Number(port) >= 1 && Number(port) <= 65_535;
        }, "expected a comma-separated list of host:port"),
      ),
    )
    .optional(),
  /** An Azure Event Hubs connection string; replaces KAFKA_BROKERS and the SASL/TLS settings. */
  EVENT_HUB_CONNECTION_STRING: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseEventHubsConnectionString(value);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const issue of error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      }
    })
    .optional(),
  /**
   * An Event Hubs namespace reached with Entra ID instead of a key: `<ns>.servicebus.windows.net`. Needs AZURE_AUTH;
   * replaces KAFKA_BROKERS, EVENT_HUB_CONNECTION_STRING and the SASL settings.
   */
  EVENT_HUB_NAMESPACE: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseEventHubsNamespace(value);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const issue of error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      }
    })
    .optional(),
  /** The event hub (topic) with EVENT_HUB_NAMESPACE or EVENT_HUB_CONNECTION_STRING; same as KAFKA_TOPIC. */
  EVENT_HUB_NAME: z.string().regex(TOPIC_NAME, "expected 1-249 characters of a-z A-Z 0-9 . _ -").optional(),
  ...azureAuthEnvSchema.shape,
  /** Topic (event hub) name. Default: the connection string's EntityPath, else ad-clicks. */
  KAFKA_TOPIC: z.string().regex(TOPIC_NAME, "expected 1-249 characters of a-z A-Z 0-9 . _ -").optional(),
  KAFKA_CLIENT_ID: z.string().max(255).optional(),
  /** Replication factor of topics the pipeline creates (plain Kafka). Default: min(3, brokers in the cluster). */
  KAFKA_REPLICATION_FACTOR: envVar.integer(1, 32_767).optional(),
  /** TLS on/off for plain Kafka. Default: on when KAFKA_SSL_CA_FILE is set, else off. */
  KAFKA_SSL: envVar.boolean().optional(),
  /** PEM file of the CA(s) to trust instead of the system's; read at load. */
  KAFKA_SSL_CA_FILE: z.string().optional(),
  KAFKA_SASL_MECHANISM: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(SASL_MECHANISMS))
    .optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
});
export type KafkaEnv = z.output<typeof kafkaEnvSchema>;

export interface KafkaConnectionDefaults {
  /** clientId when KAFKA_CLIENT_ID is unset (services pass their own name). Default "adpipe". */
  readonly clientId?: string;
  /** Topic when neither KAFKA_TOPIC nor EntityPath gives one. Default "ad-clicks". */
  readonly topic?: string;
}

function readCaFile(path: string, issues: ConfigIssue[]): string[] | undefined {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    issues.push({ variable: "KAFKA_SSL_CA_FILE", message: `cannot read ${path} (${reason})` });
    return undefined;
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    issues.push({ variable: "KAFKA_SSL_CA_FILE", message: `${path} holds no PEM certificate` });
    return undefined;
  }
  return [pem];
}

/**
 * Builds the connection from already-parsed variables (for services that spread kafkaEnvSchema.shape into
 * their own schema). Cross-variable mistakes are reported together in one ConfigError.
 */
export function kafkaConnectionFromConfig(
  config: KafkaEnv,
  defaults: KafkaConnectionDefaults = {},
): KafkaConnection {
  const issues: ConfigIssue[] = [];
  const clientId = config.KAFKA_CLIENT_ID ?? defaults.clientId ?? DEFAULT_KAFKA_CLIENT_ID;
  const ca =
    config.KAFKA_SSL_CA_FILE === undefined ? undefined : readCaFile(config.KAFKA_SSL_CA_FILE, issues);

  if (
    config.EVENT_HUB_NAME !== undefined &&
    config.KAFKA_TOPIC !== undefined &&
    config.EVENT_HUB_NAME !== config.KAFKA_TOPIC
  ) {
    issues.push({
      variable: "EVENT_HUB_NAME",
      message: "EVENT_HUB_NAME and KAFKA_TOPIC name different topics; set one (they mean the same)",
    });
  }
  if (config.EVENT_HUB_NAMESPACE !== undefined) {
    return eventHubsOAuthConnection(config, clientId, ca, issues, defaults);
  }
  if (config.EVENT_HUB_NAME !== undefined && config.EVENT_HUB_CONNECTION_STRING === undefined) {
    issues.push({
      variable: "EVENT_HUB_NAME",
      message:
        "names an event hub: use it with EVENT_HUB_NAMESPACE or EVENT_HUB_CONNECTION_STRING (plain Kafka: KAFKA_TOPIC)",
    });
  }
  const hubName = config.EVENT_HUB_NAME ?? config.KAFKA_TOPIC;

  if (config.EVENT_HUB_CONNECTION_STRING !== undefined) {
    if (config.KAFKA_BROKERS !== undefined) {
      issues.push({
        variable: "KAFKA_BROKERS",
        message:
          "set either KAFKA_BROKERS (plain Kafka) or EVENT_HUB_CONNECTION_STRING (Event Hubs), not both",
      });
    }
    if (config.KAFKA_SSL === false) {
      issues.push({ variable: "KAFKA_SSL", message: "Event Hubs requires TLS; remove KAFKA_SSL=false" });
    }
    for (const variable of ["KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const) {
      if (config[variable] !== undefined) {
        issues.push({
          variable,
          message:
            "not used with EVENT_HUB_CONNECTION_STRING (the connection string is the credential); remove it",
        });
      }
    }
    let parsed: ReturnType<typeof parseEventHubsConnectionString> | undefined;
    try {
      parsed = parseEventHubsConnectionString(config.EVENT_HUB_CONNECTION_STRING);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
    if (issues.length > 0 || parsed === undefined) throw new ConfigError(firstCode(issues), issues);
    const topic = hubName ?? parsed.entityPath ?? defaults.topic ?? DEFAULT_KAFKA_TOPIC;
    if (!TOPIC_NAME.test(topic)) {
      throw new ConfigError("invalid_connection_string", [
        { variable: "EVENT_HUB_CONNECTION_STRING", message: "EntityPath is not a valid event hub name" },
      ]);
    }
    return kafkaConnection({
      flavor: "event-hubs",
      clientId,
      brokers: [parsed.broker],
      ssl: ca === undefined ? true : { ca, rejectUnauthorized: true },
      sasl: {
        mechanism: "plain",
        username: EVENT_HUBS_SASL_USERNAME,
        password: config.EVENT_HUB_CONNECTION_STRING.trim(),
      },
      topic,
      canCreateTopics: false,
    });
  }

  const {
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
  } = config;
  const wantsSasl = mechanism !== undefined || username !== undefined || password !== undefined;
  if (wantsSasl && username === undefined) {
    issues.push({
      variable: "KAFKA_SASL_USERNAME",
      message: "required when KAFKA_SASL_MECHANISM or KAFKA_SASL_PASSWORD is set",
    });
  }
  if (wantsSasl && password === undefined) {
    issues.push({
      variable: "KAFKA_SASL_PASSWORD",
      message: "required when KAFKA_SASL_MECHANISM or KAFKA_SASL_USERNAME is set",
    });
  }
  if (config.KAFKA_SSL === false && config.KAFKA_SSL_CA_FILE !== undefined) {
    issues.push({
      variable: "KAFKA_SSL",
      message: "KAFKA_SSL=false contradicts KAFKA_SSL_CA_FILE; remove one",
    });
  }
  if (issues.length > 0) throw new ConfigError(firstCode(issues), issues);

  const sslOn = config.KAFKA_SSL ?? ca !== undefined;
  return kafkaConnection({
    flavor: "kafka",
    clientId,
    brokers: config.KAFKA_BROKERS ?? [...DEFAULT_KAFKA_BROKERS],
    ssl: sslOn && ca !== undefined ? { ca, rejectUnauthorized: true } : sslOn,
    ...(wantsSasl && username !== undefined && password !== undefined
      ? { sasl: { mechanism: mechanism ?? "plain", username, password } }
      : {}),
    topic: config.KAFKA_TOPIC ?? defaults.topic ?? DEFAULT_KAFKA_TOPIC,
    canCreateTopics: true,
    ...(config.KAFKA_REPLICATION_FACTOR === undefined
      ? {}
      : { replicationFactor: config.KAFKA_REPLICATION_FACTOR }),
  });
}

/** EVENT_HUB_NAMESPACE + AZURE_AUTH: SASL OAUTHBEARER over TLS to the namespace's Kafka endpoint. */
function eventHubsOAuthConnection(
  config: KafkaEnv,
  clientId: string,
  ca: string[] | undefined,
  issues: ConfigIssue[],
  defaults: KafkaConnectionDefaults,
): KafkaConnection {
  const conflicts: ReadonlyArray<readonly [keyof KafkaEnv, string]> = [
    [
      "EVENT_HUB_CONNECTION_STRING",
      "set either EVENT_HUB_NAMESPACE (Entra ID) or EVENT_HUB_CONNECTION_STRING (a key), not both",
    ],
    ["KAFKA_BROKERS", "set either KAFKA_BROKERS (plain Kafka) or EVENT_HUB_NAMESPACE (Event Hubs), not both"],
    [
      "KAFKA_SASL_MECHANISM",
      "not used with EVENT_HUB_NAMESPACE (Entra ID tokens are the credential); remove it",
    ],
    [
      "KAFKA_SASL_USERNAME",
      "not used with EVENT_HUB_NAMESPACE (Entra ID tokens are the credential); remove it",
    ],
    [
      "KAFKA_SASL_PASSWORD",
      "not used with EVENT_HUB_NAMESPACE (Entra ID tokens are the credential); remove it",
    ],
  ];
  for (const [variable, message] of conflicts) {
    if (config[variable] !== undefined) issues.push({ variable, message });
  }
  if (config.KAFKA_SSL === false) {
    issues.push({ variable: "KAFKA_SSL", message: "Event Hubs requires TLS; remove KAFKA_SSL=false" });
  }
  const namespace = parseEventHubsNamespace(config.EVENT_HUB_NAMESPACE ?? "");
  const auth = azureAuthFromConfig(config, "EVENT_HUB_NAMESPACE", issues);
  if (issues.length > 0 || auth === undefined) throw new ConfigError(firstCode(issues), issues);
  return kafkaConnection({
    flavor: "event-hubs",
    clientId,
    brokers: [namespace.broker],
    ssl: ca === undefined ? true : { ca, rejectUnauthorized: true },
    oauth: { mechanism: "oauthbearer", scope: namespace.scope, auth },
    topic: config.EVENT_HUB_NAME ?? config.KAFKA_TOPIC ?? defaults.topic ?? DEFAULT_KAFKA_TOPIC,
    canCreateTopics: false,
  });
}

function firstCode(issues: readonly ConfigIssue[]) {
  return issues.some(
    (issue) =>
      (issue.variable === "KAFKA_SSL_CA_FILE" || issue.variable === "AZURE_FEDERATED_TOKEN_FILE") &&
      issue.message.startsWith("cannot read"),
  )
    ? ("unreadable_file" as const)
    : issues.some((issue) => issue.variable === "EVENT_HUB_CONNECTION_STRING")
      ? ("invalid_connection_string" as const)
      : ("conflicting_env" as const);
}

/**
 * Reads KAFKA_* / EVENT_HUB_* / AZURE_* from `env` (default process.env).
 * At most one of KAFKA_BROKERS, EVENT_HUB_CONNECTION_STRING and EVENT_HUB_NAMESPACE; none means 127.0.0.1:9092.
 * Throws one ConfigError naming every bad variable.
 */
export function kafkaConnectionFromEnv(
  env: Env = process.env,
  defaults: KafkaConnectionDefaults = {},
): KafkaConnection {
  const parsed = parseEnv(kafkaEnvSchema, env);
  if (!parsed.ok) throw new ConfigError("invalid_env", parsed.issues);
  return kafkaConnectionFromConfig(parsed.value, defaults);
}

function summarizeSsl(ssl: KafkaSsl): unknown {
  return typeof ssl === "boolean"
    ? ssl
    : { ca: `${ssl.ca.length} PEM file(s)`, rejectUnauthorized: ssl.rejectUnauthorized };
}

/** The loggable view of a connection: the SASL password is replaced, the CA is summarized. */
export function describeKafkaConnection(connection: KafkaConnection): Record<string, unknown> {
  return {
    flavor: connection.flavor,
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ssl: summarizeSsl(connection.ssl),
    ...(connection.sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: connection.sasl.mechanism,
            username: connection.sasl.username,
            password: REDACTED,
          },
        }),
    ...(connection.oauth === undefined
      ? {}
      : {
          oauth: {
            mechanism: connection.oauth.mechanism,
            scope: connection.oauth.scope,
            auth: describeAzureAuth(connection.oauth.auth),
          },
        }),
    topic: connection.topic,
    canCreateTopics: connection.canCreateTopics,
    ...(connection.replicationFactor === undefined
      ? {}
      : { replicationFactor: connection.replicationFactor }),
  };
}

/** The secrets a connection holds (SASL password, Entra ID client secret): to scrub from logs. */
export function kafkaConnectionSecrets(connection: KafkaConnection): string[] {
  return [connection.sasl?.password, connection.oauth?.auth.clientSecret].filter(
    (secret): secret is string => secret !== undefined && secret !== "",
  );
}

/** Defines non-enumerable toJSON and util.inspect hooks, so spreading the object does not copy them. */
function hideFromLogs<T extends object>(target: T, view: () => unknown): T {
  Object.defineProperty(target, "toJSON", { value: view, enumerable: false });
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(view(), options),
    enumerable: false,
  });
  return target;
}

/**
 * Freezes a KafkaConnection and makes it safe to log: JSON.stringify (pino) and util.inspect
 * (console.log) print the password as [redacted]. Use it when building a KafkaConnection by hand.
 */
export function kafkaConnection(fields: KafkaConnection): KafkaConnection {
  const sasl =
    fields.sasl === undefined
      ? undefined
      : Object.freeze(
          hideFromLogs({ ...fields.sasl }, () => ({
            mechanism: fields.sasl?.mechanism,
            username: fields.sasl?.username,
            password: REDACTED,
          })),
        );
  if (fields.sasl !== undefined && fields.oauth !== undefined) {
    throw new TypeError("a KafkaConnection has either sasl or oauth, not both");
  }
  const oauth =
    fields.oauth === undefined
      ? undefined
      : Object.freeze({ ...fields.oauth, auth: azureAuth(fields.oauth.auth) });
  const connection: KafkaConnection = {
    ...fields,
    brokers: [...fields.brokers],
    ...(sasl === undefined ? {} : { sasl }),
    ...(oauth === undefined ? {} : { oauth }),
  };
  return Object.freeze(hideFromLogs(connection, () => describeKafkaConnection(connection)));
}
