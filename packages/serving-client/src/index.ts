export {
  createServingClient,
  type LocalCacheOptions,
  type ServingClient,
  type ServingClientOptions,
  type ServingClientStats,
} from "./client.js";
export { createRedisClient, isRedisCluster, type RedisClientOptions, type RedisTarget } from "./connect.js";
export {
  advertiserHashTag,
  advertiserIdFromKey,
  advertiserKey,
  advertiserKeyPattern,
  assertAdvertiserId,
  BUDGET_MODES,
  BUDGET_SOURCES,
  type BudgetMode,
  type BudgetSource,
  DEFAULT_KEY_PREFIX,
  isValidAdvertiserId,
  MAX_ADVERTISER_ID_LENGTH,
  NOT_SERVING_REASONS,
  type NotServingReason,
  PACING_MODES,
  type PacingMode,
  PUBLIC_FIELDS,
  type PublicField,
  parseServingChangeMessage,
  parseServingState,
  parseShapeField,
  type ServingChangeMessage,
  type ServingState,
  servingChangesChannel,
} from "./contract.js";
export { SERVING_CLIENT_ERROR_CODES, ServingClientError, type ServingClientErrorCode } from "./errors.js";
export { HASH_SLOTS, metaKey, slotGuardKey, slotTagOf, slotTags, stateGuardKey } from "./guard-keys.js";
export { LruTtlCache } from "./local-cache.js";
export {
  createLuaRegistry,
  isNoScriptError,
  type LuaRegistry,
  type LuaRegistryOptions,
  type LuaScript,
} from "./lua-registry.js";
export {
  execByNode,
  hashSlot,
  type PipelineReply,
  type RedisArgument,
  type RoutedCommand,
} from "./pipeline-by-node.js";
export {
  assertReserveRequest,
  decodeReserveReply,
  MAX_RESERVATION_ID_LENGTH,
  MAX_RESERVATION_TTL_MS,
  RESERVATION_REFUSALS,
  RESERVATION_SCRIPT_NAMES,
  type ReleaseRequest,
  type ReservationKeys,
  type ReservationRefusal,
  type ReservationScriptName,
  type ReserveRequest,
  type ReserveResult,
  releaseMany,
  reservationExpiriesKey,
  reservationScripts,
  reservationsKey,
  reserveMany,
} from "./reservations.js";
