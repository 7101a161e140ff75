import { type KafkaConnection, kafkaConnectionSecrets } from "@adpipe/config";
import type { Logger } from "@adpipe/telemetry";
import type { TokenCredential } from "@azure/core-auth";
import {
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type RetryOptions,
} from "kafkajs";
import { kafkajsLogCreator } from "./logging.js";
import { OAuthTokenProvider, oauthBearerMechanism } from "./oauth.js";

/** Event Hubs rejects records above 1 MB (1,048,576 bytes, headers and key included). */
export const EVENT_HUBS_MAX_RECORD_BYTES = 1_048_576;
/** Event Hubs throttles offset commits to this many per second per partition. */
export const EVENT_HUBS_MAX_COMMITS_PER_SECOND_PER_PARTITION = 4;

/**
 * Azure's recommended client settings for the Event Hubs Kafka endpoint
 * (https://learn.microsoft.com/azure/event-hubs/apache-kafka-configurations), in kafkajs terms.
 * Azure closes connections idle for 240 s; kafkajs has no idle-close setting, so a closed socket is noticed on
 * the next request, which fails with a retriable error and is retried on a new connection: retries must be on.
 */
export const EVENT_HUBS_SETTINGS = {
  metadataMaxAge: 180_000,
  requestTimeout: 60_000,
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  /** TLS to a remote namespace: more than kafkajs' 1 s default. */
  connectionTimeout: 10_000,
  authenticationTimeout: 10_000,
  /** Commits at most once a second per partition, well under the 4/s throttle. */
  autoCommitInterval: 1_000,
} as const;

/**
 * kafkajs re-authenticates (KIP-368) this long before the session the broker granted ends; with OAuth the session
 * ends when the token expires (Event Hubs, or a broker with connections.max.reauth.ms). The token provider never
 * hands out a token with less than MIN_TOKEN_REMAINING_MS (> this) left.
 */
export const REAUTHENTICATION_THRESHOLD_MS = 10_000;

/** Retries: reconnects after an idle close or a broker restart must be invisible to callers. */
export const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 30_000, retries: 10 };

export interface CreateKafkaOptions {
  /** Where kafkajs logs go (pino works), with secrets redacted. Default: stderr as JSON, WARN and above. */
  logger?: Logger;
  /** kafkajs' own level filter. Default INFO with a logger, WARN without. */
  logLevel?: logLevel;
  /** Overrides of kafkajs client settings (e.g. a short retry for a test that expects failure). */
  retry?: RetryOptions;
  connectionTimeout?: number;
  authenticationTimeout?: number;
  requestTimeout?: number;
  /**
   * OAuth connections (EVENT_HUB_NAMESPACE): the TokenCredential to get tokens from instead of the @azure/identity
   * credential AZURE_AUTH names (tests point one at their own identity provider).
   */
  credential?: TokenCredential;
  /** OAuth connections: called after each token refresh with its expiry (never with the token). */
  onTokenRefresh?: (info: { expiresOnMs: number; refreshAtMs: number }) => void;
}

/** JSON lines on stderr: the log of a client created without a logger. */
export const stderrLogger: Logger = {
  error: (object, message) => writeStderr("error", object, message),
  warn: (object, message) => writeStderr("warn", object, message),
  info: (object, message) => writeStderr("info", object, message),
  debug: (object, message) => writeStderr("debug", object, message),
};

function writeStderr(level: string, object: object, message?: string): void {
  process.stderr.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), ...object, msg: message })}\n`,
  );
}

/** Producer settings for a connection's flavor; explicit settings passed to producer() win. */
export function producerDefaults(connection: KafkaConnection): ProducerConfig {
  return {
    // The pipeline creates topics explicitly; Event Hubs cannot create them at all.
    allowAutoTopicCreation: false,
    // Java-compatible murmur2 partitioning: records keyed by advertiser_id land where Java clients put them.
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(connection.flavor === "event-hubs" ? { metadataMaxAge: EVENT_HUBS_SETTINGS.metadataMaxAge } : {}),
  };
}

/** Consumer settings for a connection's flavor, minus groupId; explicit settings passed to consumer() win. */
export function consumerDefaults(connection: KafkaConnection): Omit<ConsumerConfig, "groupId"> {
  return {
    allowAutoTopicCreation: false,
    sessionTimeout: EVENT_HUBS_SETTINGS.sessionTimeout,
    heartbeatInterval: EVENT_HUBS_SETTINGS.heartbeatInterval,
    // Return a fetch after 1 s without data (kafkajs default 5 s), so stop() does not wait long.
    maxWaitTimeInMs: 1_000,
    ...(connection.flavor === "event-hubs"
      ? { metadataMaxAge: EVENT_HUBS_SETTINGS.metadataMaxAge, rebalanceTimeout: 60_000 }
      : {}),
  };
}

/** The kafkajs client settings createKafka() uses for a connection (exported for tests and diagnostics). */
export function kafkaClientConfig(
  connection: KafkaConnection,
  options: CreateKafkaOptions = {},
): KafkaConfig {
  const eventHubs = connection.flavor === "event-hubs";
  const secrets = kafkaConnectionSecrets(connection);
  const logger = options.logger ?? stderrLogger;
  const ssl =
    typeof connection.ssl === "boolean" ? connection.ssl : { ...connection.ssl, ca: [...connection.ssl.ca] };
  let sasl: KafkaConfig["sasl"];
  if (connection.sasl !== undefined) {
    // A plain object copy: kafkajs only needs the three fields.
    sasl = {
      mechanism: connection.sasl.mechanism,
      username: connection.sasl.username,
      password: connection.sasl.password,
    } as KafkaConfig["sasl"];
  } else if (connection.oauth !== undefined) {
    const provider = new OAuthTokenProvider(connection.oauth.scope, connection.oauth.auth, {
      ...(options.credential === undefined ? {} : { credential: options.credential }),
      ...(options.onTokenRefresh === undefined ? {} : { onRefresh: options.onTokenRefresh }),
      warn: (message) => logger.warn({ scope: connection.oauth?.scope }, message),
    });
    sasl = oauthBearerMechanism(provider);
  }
  return {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ssl,
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout:
      options.connectionTimeout ?? (eventHubs ? EVENT_HUBS_SETTINGS.connectionTimeout : 3_000),
    authenticationTimeout:
      options.authenticationTimeout ?? (eventHubs ? EVENT_HUBS_SETTINGS.authenticationTimeout : 3_000),
    requestTimeout: options.requestTimeout ?? (eventHubs ? EVENT_HUBS_SETTINGS.requestTimeout : 30_000),
    reauthenticationThreshold: REAUTHENTICATION_THRESHOLD_MS,
    enforceRequestTimeout: true,
    retry: options.retry ?? DEFAULT_RETRY,
    logLevel: options.logLevel ?? (options.logger ? logLevel.INFO : logLevel.WARN),
    logCreator: kafkajsLogCreator(logger, secrets),
  };
}

/**
 * A kafkajs client that knows its connection: producer() and consumer() start from the settings for its
 * flavor (Azure's for Event Hubs), and the admin helpers can tell Event Hubs from Kafka.
 */
export class AdpipeKafka extends Kafka {
  readonly connection: KafkaConnection;
  /** CreateKafkaOptions.logger: where the admin helpers called with this client report (undefined: stderr). */
  readonly pipelineLogger: Logger | undefined;

  constructor(connection: KafkaConnection, options: CreateKafkaOptions = {}) {
    super(kafkaClientConfig(connection, options));
    this.connection = connection;
    this.pipelineLogger = options.logger;
  }

  override producer(config: ProducerConfig = {}): Producer {
    return super.producer({ ...producerDefaults(this.connection), ...config });
  }

  override consumer(config: ConsumerConfig): Consumer {
    return super.consumer({ ...consumerDefaults(this.connection), ...config });
  }
}

/** Creates a kafkajs client for a connection from @adpipe/config. */
export function createKafka(connection: KafkaConnection, options: CreateKafkaOptions = {}): AdpipeKafka {
  return new AdpipeKafka(connection, options);
}
