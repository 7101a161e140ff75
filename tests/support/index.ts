export { type EventHubsEnv, readEventHubsEnv } from "./event-hubs-env.js";
export { createTestTopic, type TestTopic, testKafka, testKafkaConnection } from "./kafka.js";
export { uniqueIdentifier, uniqueName } from "./names.js";
export { EVENT_HUBS_ENV_FILE, REPO_ROOT } from "./paths.js";
export { createTestDatabase, createTestSchema, type TestDatabase, type TestSchema } from "./postgres.js";
export { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "./redis.js";
export { deleteClusterPrefix, redisClusterNodes, testRedisCluster } from "./redis-cluster.js";
export { eventHubsEmulation, type ServiceSource, type TestServices, testServices } from "./services.js";
