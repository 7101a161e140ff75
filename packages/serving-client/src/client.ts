import type { Cluster, Redis } from "ioredis";
import { isRedisCluster } from "./connect.js";
import {
  advertiserKey,
  assertAdvertiserId,
  DEFAULT_KEY_PREFIX,
  PUBLIC_FIELDS,
  parseServingChangeMessage,
  parseServingState,
  type ServingState,
  servingChangesChannel,
} from "./contract.js";
import { ServingClientError } from "./errors.js";
import { LruTtlCache } from "./local-cache.js";
import { execByNode } from "./pipeline-by-node.js";
import {
  type ReleaseRequest,
  type ReservationKeys,
  type ReserveRequest,
  type ReserveResult,
  releaseMany,
  reserveMany,
} from "./reservations.js";

export interface LocalCacheOptions {
  /** Most advertisers kept; the least recently used is evicted first. */
  maxEntries: number;
  /**
   * Upper bound on staleness of the fields that do not announce changes (spend, clicks):
   * can_serve flips are pushed on the changes channel and invalidate the entry at once.
   */
  ttlMs: number;
}

export interface ServingClientOptions {
  /** A connected ioredis client (standalone or Cluster). The client does not close it. */
  redis: Redis | Cluster;
  /** Key prefix the budget-tracker writes under (REDIS_KEY_PREFIX); default `adspend:`. */
  prefix?: string;
  /**
   * Answer for an advertiser with no hash (never seen by the tracker, or Redis lost its data and
   * is being rebuilt). Default false: fail closed, never spend money nobody has budgeted.
   */
  serveWhenUnknown?: boolean;
  /** Keep states in process memory, invalidated through the `<prefix>serving-changes` channel. */
  localCache?: LocalCacheOptions;
  /**
   * The tracker's topic (KAFKA_TOPIC). Needed only by reserve/release: the scripts check the tracker's state
   * guard, which on one server is the topic's meta hash.
   */
  topic?: string;
  /** Clock for cache expiry (tests inject one). */
  clock?: () => number;
}

export interface ServingClientStats {
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly invalidations: number;
  readonly resets: number;
  /** True while the cache is in use: the subscription is live. */
  readonly cacheActive: boolean;
}

export interface ServingClient {
  /** `HGET <prefix>adv:{id} can_serve` (or the local cache); unknown advertisers get serveWhenUnknown. */
  canServe(advertiserId: string): Promise<boolean>;
  /** The typed state, null when the advertiser is unknown. */
  get(advertiserId: string): Promise<ServingState | null>;
  /** Several advertisers in one Redis round trip (cache misses only). */
  getMany(advertiserIds: readonly string[]): Promise<Map<string, ServingState | null>>;
  /** canServe for several advertisers in one Redis round trip. */
  canServeMany(advertiserIds: readonly string[]): Promise<Map<string, boolean>>;
  /**
   * Admission by reservation (docs/realtime.md "Reservations"): one Lua call, one round trip. For a hard_cap
   * advertiser granted only if net + outstanding reservations + maxCostMicros <= budget, and then recorded until
   * its click is applied, it is released or it expires; for observe the serving decision, nothing recorded.
   * Refusals are answers (`granted: false` with a reason); Redis errors reject.
   */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /** reserve for many requests (any advertisers) in one round trip (one per node on a cluster), in order. */
  reserveMany(requests: readonly ReserveRequest[]): Promise<ReserveResult[]>;
  /**
   * Frees a reservation whose click will not come. The advertiser id is needed because the reservation lives
   * in the advertiser's keys (its hash tag: one slot, one script call, no global index to look it up).
   * Resolves true when it was outstanding.
   */
  release(request: ReleaseRequest): Promise<boolean>;
  /** release for many in one round trip. */
  releaseMany(requests: readonly ReleaseRequest[]): Promise<boolean[]>;
  /** Resolves once the local cache is subscribed to changes (at once without a cache). */
  ready(): Promise<void>;
  stats(): ServingClientStats;
  /** Closes the subscriber connection the cache opened; the caller's redis stays open. */
  close(): Promise<void>;
}

/** Validates cache options: a cache without bounds would be an unbounded memory leak. */
function validateCacheOptions(options: LocalCacheOptions): void {
  if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new ServingClientError("invalid_option", "localCache.maxEntries must be a positive integer");
  }
  if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) {
    throw new ServingClientError("invalid_option", "localCache.ttlMs must be a positive number");
  }
}

export function createServingClient(options: ServingClientOptions): ServingClient {
  const { redis } = options;
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const serveWhenUnknown = options.serveWhenUnknown ?? false;
  const channel = servingChangesChannel(prefix);

  const counters = { cacheHits: 0, cacheMisses: 0, invalidations: 0, resets: 0 };
  const cacheOptions = options.localCache;
  if (cacheOptions !== undefined) validateCacheOptions(cacheOptions);
  const cache =
    cacheOptions === undefined
      ? null
      : new LruTtlCache<ServingState | null>(cacheOptions.maxEntries, cacheOptions.ttlMs, options.clock);

  // A fetch that overlaps an invalidation of the same advertiser must not store its (maybe older)
  // answer: in-flight fetches are counted per advertiser and invalidations mark them dirty.
  const inFlight = new Map<string, number>();
  const dirty = new Set<string>();
  let epoch = 0;
  let cacheActive = false;
  let closed = false;

  const invalidateAll = (): void => {
    epoch += 1;
    cache?.clear();
    for (const id of inFlight.keys()) dirty.add(id);
  };

  const subscriber = cache === null ? null : redis.duplicate();
  let subscribed: Promise<void> = Promise.resolve();
  // With a fail-fast connection (enableOfflineQueue: false, what an ad server wants), a SUBSCRIBE sent before
  // the duplicated connection is ready is rejected, and an unhandled rejection terminates a Node process. So
  // every attempt's failure is handled, the "ready" handler below retries, and ready() resolves on the first
  // subscription that succeeds (or on close()).
  let firstSubscribed: () => void = () => undefined;
  if (subscriber !== null) {
    subscribed = new Promise<void>((resolve) => {
      firstSubscribed = resolve;
    });
    const subscribe = async (): Promise<void> => {
      await subscriber.subscribe(channel);
      if (!closed) cacheActive = true;
      firstSubscribed();
    };
    subscriber.on("message", (messageChannel: string, text: string) => {
      if (messageChannel !== channel) return;
      const message = parseServingChangeMessage(text);
      if (message === null) return;
      if (message.type === "reset") {
        counters.resets += 1;
        invalidateAll();
        return;
      }
      counters.invalidations += 1;
      cache?.delete(message.advertiserId);
      if (inFlight.has(message.advertiserId)) dirty.add(message.advertiserId);
    });
    // Pub/sub is at-most-once: while disconnected, changes are missed, so the cache is dropped
    // and bypassed until the subscription is back.
    subscriber.on("close", () => {
      cacheActive = false;
      invalidateAll();
    });
    subscriber.on("ready", () => {
      if (!closed) subscribe().catch(() => undefined);
    });
    // ioredis logs unhandled "error" events; connection errors surface as "close" above.
    subscriber.on("error", () => undefined);
    subscribe().catch(() => undefined);
  }

  const readFromRedis = async (ids: readonly string[]): Promise<(ServingState | null)[]> => {
    const results = await execByNode(
      redis,
      ids.map((id) => {
        const key = advertiserKey(id, prefix);
        return { key, command: "HMGET", args: [key, ...PUBLIC_FIELDS] };
      }),
    );
    return ids.map((id, i) => {
      const result = results[i];
      if (result === undefined)
        throw new ServingClientError("malformed_state", "pipeline returned too few replies");
      const [error, values] = result;
      if (error) throw error;
      return parseServingState(id, values as (string | null)[]);
    });
  };

  const fetchAndCache = async (ids: readonly string[]): Promise<(ServingState | null)[]> => {
    if (cache === null || !cacheActive) return readFromRedis(ids);
    const startEpoch = epoch;
    for (const id of ids) inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    try {
      const states = await readFromRedis(ids);
      ids.forEach((id, i) => {
        if (cacheActive && epoch === startEpoch && !dirty.has(id)) cache.set(id, states[i] ?? null);
      });
      return states;
    } finally {
      for (const id of ids) {
        const left = (inFlight.get(id) ?? 1) - 1;
        if (left === 0) {
          inFlight.delete(id);
          dirty.delete(id);
        } else inFlight.set(id, left);
      }
    }
  };

  const getMany = async (ids: readonly string[]): Promise<Map<string, ServingState | null>> => {
    for (const id of ids) assertAdvertiserId(id);
    const answers = new Map<string, ServingState | null>();
    const misses: string[] = [];
    for (const id of new Set(ids)) {
      const hit = cache !== null && cacheActive ? cache.get(id) : undefined;
      if (hit !== undefined) {
        counters.cacheHits += 1;
        answers.set(id, hit.value);
      } else {
        if (cache !== null) counters.cacheMisses += 1;
        misses.push(id);
      }
    }
    if (misses.length > 0) {
      const states = await fetchAndCache(misses);
      misses.forEach((id, i) => {
        answers.set(id, states[i] ?? null);
      });
    }
    return answers;
  };

  const keysForReservations: ReservationKeys | null =
    options.topic === undefined || options.topic === ""
      ? null
      : { prefix, topic: options.topic, clustered: isRedisCluster(redis) };
  const reservationKeys = (): ReservationKeys => {
    if (keysForReservations === null) {
      throw new ServingClientError("invalid_option", "reservations need the tracker's topic (option topic)");
    }
    return keysForReservations;
  };

  const decide = (state: ServingState | null): boolean =>
    state === null ? serveWhenUnknown : state.canServe;

  return {
    async canServe(advertiserId) {
      if (cache === null) {
        const value = await redis.hget(advertiserKey(advertiserId, prefix), "can_serve");
        return value === null ? serveWhenUnknown : value === "1";
      }
      const answers = await getMany([advertiserId]);
      return decide(answers.get(advertiserId) ?? null);
    },
    async get(advertiserId) {
      const answers = await getMany([advertiserId]);
      return answers.get(advertiserId) ?? null;
    },
    getMany,
    async canServeMany(advertiserIds) {
      const answers = await getMany(advertiserIds);
      return new Map([...answers].map(([id, state]) => [id, decide(state)]));
    },
    async reserve(request) {
      const [result] = await reserveMany(redis, reservationKeys(), [request]);
      if (result === undefined) throw new ServingClientError("malformed_reply", "no reply to reserve");
      return result;
    },
    reserveMany: (requests) => reserveMany(redis, reservationKeys(), requests),
    async release(request) {
      const [released] = await releaseMany(redis, reservationKeys(), [request]);
      return released === true;
    },
    releaseMany: (requests) => releaseMany(redis, reservationKeys(), requests),
    ready: () => subscribed,
    stats: () => ({ ...counters, cacheActive }),
    async close() {
      closed = true;
      firstSubscribed();
      cacheActive = false;
      cache?.clear();
      if (subscriber !== null) {
        subscriber.disconnect();
      }
    },
  };
}
