export {
  AZURE_AUTH_MODES,
  type AzureAuth,
  type AzureAuthEnv,
  type AzureAuthMode,
  azureAuth,
  azureAuthEnvSchema,
  azureAuthFromConfig,
  azureAuthFromEnv,
  createAzureCredential,
  describeAzureAuth,
} from "./azure-auth.js";
export { type BudgetPeriodEnv, budgetPeriodEnvSchema } from "./budget-period.js";
export { type Env, type EnvParseResult, envVar, loadEnv, parseEnv } from "./env.js";
export { CONFIG_ERROR_CODES, ConfigError, type ConfigErrorCode, type ConfigIssue } from "./errors.js";
export {
  EVENT_HUBS_KAFKA_PORT,
  type EventHubsConnectionString,
  type EventHubsNamespace,
  parseEventHubsConnectionString,
  parseEventHubsNamespace,
} from "./event-hubs.js";
export { type EventRulesEnv, eventRulesEnvSchema, parseLimitsFromEnv } from "./event-rules.js";
export {
  DEFAULT_KAFKA_BROKERS,
  DEFAULT_KAFKA_CLIENT_ID,
  DEFAULT_KAFKA_TOPIC,
  describeKafkaConnection,
  EVENT_HUBS_SASL_USERNAME,
  KAFKA_FLAVORS,
  type KafkaConnection,
  type KafkaConnectionDefaults,
  type KafkaEnv,
  type KafkaFlavor,
  type KafkaOAuth,
  type KafkaSsl,
  kafkaConnection,
  kafkaConnectionFromConfig,
  kafkaConnectionFromEnv,
  kafkaConnectionSecrets,
  kafkaEnvSchema,
  SASL_MECHANISMS,
  type SaslCredentials,
  type SaslMechanism,
} from "./kafka.js";
export {
  LOG_LEVELS,
  type LogEnv,
  type LogLevel,
  logEnvSchema,
  type OpsEnv,
  opsEnvSchema,
} from "./ops.js";
export { REDACTED, redact, redactUrl, sanitizeAzureError, urlPasswordSecrets } from "./redact.js";
export {
  DEFAULT_REDIS_URL,
  describeRedisConnection,
  type RedisConnection,
  type RedisEnv,
  type RedisNode,
  redisConnection,
  redisConnectionFromEnv,
  redisConnectionSecrets,
  redisEnvSchema,
} from "./redis.js";
export { DEFAULT_DATABASE_URL, type PostgresEnv, postgresEnvSchema } from "./services.js";
export { type TopicResetEnv, topicResetEnvSchema } from "./topic-reset.js";
