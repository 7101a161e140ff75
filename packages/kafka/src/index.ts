export {
  type AdminTarget,
  deleteTopic,
  type EnsureTopicResult,
  ensureTopic,
  type TopicSpec,
  withAdmin,
} from "./admin.js";
export {
  AdpipeKafka,
  type CreateKafkaOptions,
  consumerDefaults,
  createKafka,
  DEFAULT_RETRY,
  EVENT_HUBS_MAX_COMMITS_PER_SECOND_PER_PARTITION,
  EVENT_HUBS_MAX_RECORD_BYTES,
  EVENT_HUBS_SETTINGS,
  kafkaClientConfig,
  producerDefaults,
  REAUTHENTICATION_THRESHOLD_MS,
} from "./client.js";
export {
  ConsumerRunner,
  type ConsumerRunnerOptions,
  type ConsumerRunnerState,
  type TopicPartition,
  type TopicPartitionOffset,
  validateSeekOffsets,
} from "./consumer-runner.js";
export { isAuthenticationError, KAFKA_ERROR_CODES, KafkaError, type KafkaErrorCode } from "./errors.js";
export { kafkajsLogCreator, kafkajsLogFields, transientBrokerState } from "./logging.js";
export {
  MIN_TOKEN_REMAINING_MS,
  OAuthTokenProvider,
  type OAuthTokenProviderOptions,
  oauthBearerMechanism,
  tokenClaimsForDiagnosis,
} from "./oauth.js";
export {
  MAX_DEFAULT_REPLICATION_FACTOR,
  replicationShortfall,
  type TopicReplication,
  topicReplication,
  unregisteredReplicaBrokers,
} from "./replication.js";
export { inspectTopicLog, resolveResetTargets, type TopicLog, TopicLogReader } from "./topic-log.js";
export { resetCommand, TopicResetGuard, type TopicResetGuardOptions } from "./topic-reset-guard.js";
export { type SendWholeOptions, sendWhole, WHOLE_SEND_PRODUCER } from "./whole-send.js";
