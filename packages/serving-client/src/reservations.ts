import type { Cluster, Redis } from "ioredis";
import { advertiserHashTag, advertiserKey, isValidAdvertiserId } from "./contract.js";
import { ServingClientError } from "./errors.js";
import { stateGuardKey } from "./guard-keys.js";
import { createLuaRegistry, isNoScriptError } from "./lua-registry.js";
import { execByNode, type PipelineReply, type RoutedCommand } from "./pipeline-by-node.js";

/**
 * Why a reservation is not granted; mirrors RESERVATION_REFUSALS of @adpipe/core (a test keeps them equal).
 * See docs/realtime.md "Reservations".
 */
export const RESERVATION_REFUSALS = [
  "paused",
  "no_budget",
  "budget_exhausted",
  "insufficient_budget",
  "unknown",
  "unavailable",
  "ahead_of_pace",
] as const;
export type ReservationRefusal = (typeof RESERVATION_REFUSALS)[number];

/** Longest reservation id (as click_id, in UTF-16 code units). */
export const MAX_RESERVATION_ID_LENGTH = 128;
/**
 * Longest TTL a reservation may ask for. After Redis lost the state, hard_cap reservations are held back this
 * long past the rebuild (lost reservations may still settle until then), so it bounds that pause too.
 */
export const MAX_RESERVATION_TTL_MS = 600_000;

export interface ReserveRequest {
  readonly advertiserId: string;
  /** The id the click will carry as `reservation_id` (by default its click_id). */
  readonly reservationId: string;
  /** The most the click can cost (integer micros, > 0). */
  readonly maxCostMicros: number;
  /** The click reaches the log within this long (1..MAX_RESERVATION_TTL_MS), or the reservation expires. */
  readonly ttlMs: number;
}

export interface ReserveResult {
  readonly granted: boolean;
  /** null when granted. */
  readonly reason: ReservationRefusal | null;
  /** Budget left for further reservations after this call; null without a budget (or unknown/unavailable). */
  readonly remainingMicros: number | null;
}

export interface ReleaseRequest {
  /** Needed to find the reservation: its keys carry the advertiser's hash tag (one slot, one script call). */
  readonly advertiserId: string;
  readonly reservationId: string;
}

/** Where the reservation scripts look for the tracker's state guard. */
export interface ReservationKeys {
  readonly prefix: string;
  /** The tracker's topic (KAFKA_TOPIC): names the meta hash that guards the state on one server. */
  readonly topic: string;
  readonly clustered: boolean;
}

export const RESERVATION_SCRIPT_NAMES = ["reserve", "release"] as const;
export type ReservationScriptName = (typeof RESERVATION_SCRIPT_NAMES)[number];

/** The client's Lua scripts (lua/ at the package root, beside src/ and dist/). */
export const reservationScripts = createLuaRegistry<ReservationScriptName>({
  dir: new URL("../lua/", import.meta.url),
  names: RESERVATION_SCRIPT_NAMES,
  missing: (name, cause) =>
    new ServingClientError("malformed_reply", `cannot read lua/${name}.lua`, { cause }),
  mismatch: (name, sha, expected) =>
    new ServingClientError("malformed_reply", `SCRIPT LOAD ${name} returned ${sha}, expected ${expected}`),
});

/** `<prefix>resv:{<id>}`: outstanding reservations of an advertiser, reservation id -> maxCostMicros. */
export function reservationsKey(advertiserId: string, prefix: string): string {
  return `${prefix}resv:${advertiserHashTag(advertiserId)}`;
}

/** `<prefix>resvexp:{<id>}`: expiry (epoch ms) of each outstanding reservation, as a sorted set. */
export function reservationExpiriesKey(advertiserId: string, prefix: string): string {
  return `${prefix}resvexp:${advertiserHashTag(advertiserId)}`;
}

function isValidReservationId(id: unknown): id is string {
  // The advertiser-id rule (1..128 code units, no control characters), which click ids also satisfy.
  return isValidAdvertiserId(id);
}

/** Throws invalid_reservation for a request reserve.lua must never see. */
export function assertReserveRequest(request: ReserveRequest): void {
  if (!isValidAdvertiserId(request.advertiserId)) {
    throw new ServingClientError("invalid_advertiser_id", "advertiserId is not a valid advertiser id");
  }
  if (!isValidReservationId(request.reservationId)) {
    throw new ServingClientError(
      "invalid_reservation",
      `reservationId must be 1..${MAX_RESERVATION_ID_LENGTH} characters without control characters`,
    );
  }
  if (!Number.isSafeInteger(request.maxCostMicros) || request.maxCostMicros <= 0) {
    throw new ServingClientError("invalid_reservation", "maxCostMicros must be a positive safe integer");
  }
  if (!Number.isSafeInteger(request.ttlMs) || request.ttlMs < 1 || request.ttlMs > MAX_RESERVATION_TTL_MS) {
    throw new ServingClientError(
      "invalid_reservation",
      `ttlMs must be an integer in 1..${MAX_RESERVATION_TTL_MS}`,
    );
  }
}

function assertReleaseRequest(request: ReleaseRequest): void {
  if (!isValidAdvertiserId(request.advertiserId)) {
    throw new ServingClientError("invalid_advertiser_id", "advertiserId is not a valid advertiser id");
  }
  if (!isValidReservationId(request.reservationId)) {
    throw new ServingClientError("invalid_reservation", "reservationId is not a valid reservation id");
  }
}

function reserveCommand(keys: ReservationKeys, request: ReserveRequest): RoutedCommand {
  const hash = advertiserKey(request.advertiserId, keys.prefix);
  return {
    key: hash,
    command: "EVALSHA",
    args: [
      reservationScripts.script("reserve").sha,
      4,
      hash,
      reservationsKey(request.advertiserId, keys.prefix),
      reservationExpiriesKey(request.advertiserId, keys.prefix),
      stateGuardKey(keys.prefix, keys.topic, keys.clustered, hash),
      request.reservationId,
      request.maxCostMicros,
      request.ttlMs,
    ],
  };
}

function releaseCommand(keys: ReservationKeys, request: ReleaseRequest): RoutedCommand {
  const hash = advertiserKey(request.advertiserId, keys.prefix);
  return {
    key: hash,
    command: "EVALSHA",
    args: [
      reservationScripts.script("release").sha,
      3,
      hash,
      reservationsKey(request.advertiserId, keys.prefix),
      reservationExpiriesKey(request.advertiserId, keys.prefix),
      request.reservationId,
    ],
  };
}

function isRefusal(value: unknown): value is ReservationRefusal {
  return typeof value === "string" && (RESERVATION_REFUSALS as readonly string[]).includes(value);
}

/** Reads reserve.lua's `{ granted, reason, remaining }`. */
export function decodeReserveReply(reply: unknown): ReserveResult {
  if (!Array.isArray(reply) || reply.length !== 3) {
    throw new ServingClientError("malformed_reply", `reserve.lua answered ${JSON.stringify(reply)}`);
  }
  const [granted, reason, remaining] = reply as unknown[];
  if ((granted !== 0 && granted !== 1) || typeof remaining !== "number") {
    throw new ServingClientError("malformed_reply", `reserve.lua answered ${JSON.stringify(reply)}`);
  }
  if (granted === 1)
    return { granted: true, reason: null, remainingMicros: remaining < 0 ? null : remaining };
  if (!isRefusal(reason)) {
    throw new ServingClientError("malformed_reply", `reserve.lua gave the unknown reason ${String(reason)}`);
  }
  return { granted: false, reason, remainingMicros: remaining < 0 ? null : remaining };
}

/**
 * Sends script calls pipelined (one round trip; one per node on a cluster; a single call as a plain command)
 * and answers per call. Calls Redis answered NOSCRIPT (it restarted or flushed its script cache) did not run:
 * the scripts are loaded and those calls sent once more.
 */
async function sendCalls(
  redis: Redis | Cluster,
  commands: readonly RoutedCommand[],
): Promise<PipelineReply[]> {
  if (commands.length === 1) {
    try {
      return [[null, await runOne(redis, commands[0] as RoutedCommand)]];
    } catch (error) {
      return [[error instanceof Error ? error : new Error(String(error)), null]];
    }
  }
  const replies: PipelineReply[] = await execByNode(redis, commands);
  const missing = replies.flatMap(([error], i) => (error !== null && isNoScriptError(error) ? [i] : []));
  if (missing.length > 0) {
    await reservationScripts.load(redis);
    const again = await execByNode(
      redis,
      missing.map((i) => commands[i] as RoutedCommand),
    );
    missing.forEach((commandIndex, i) => {
      replies[commandIndex] = again[i] ?? [new Error("no reply from Redis"), null];
    });
  }
  return replies;
}

/** sendCalls, failing on the first error reply. */
async function runCalls(redis: Redis | Cluster, commands: readonly RoutedCommand[]): Promise<unknown[]> {
  return (await sendCalls(redis, commands)).map(([error, value]) => {
    if (error !== null) throw error;
    return value;
  });
}

/**
 * One script call sent as a plain command (a one-command pipeline costs a pipeline object and its bookkeeping).
 * A cluster client routes it by its first key.
 */
async function runOne(redis: Redis | Cluster, command: RoutedCommand): Promise<unknown> {
  try {
    return await redis.call(command.command, ...command.args);
  } catch (error) {
    if (!isNoScriptError(error)) throw error;
    await reservationScripts.load(redis);
    return redis.call(command.command, ...command.args);
  }
}

function decodeReleaseReply(value: unknown): boolean {
  if (value !== 0 && value !== 1) {
    throw new ServingClientError("malformed_reply", `release.lua answered ${JSON.stringify(value)}`);
  }
  return value === 1;
}

/** reserve for many requests in one round trip (one per node on a cluster); results in request order. */
export async function reserveMany(
  redis: Redis | Cluster,
  keys: ReservationKeys,
  requests: readonly ReserveRequest[],
): Promise<ReserveResult[]> {
  for (const request of requests) assertReserveRequest(request);
  if (requests.length === 0) return [];
  const values = await runCalls(
    redis,
    requests.map((request) => reserveCommand(keys, request)),
  );
  return values.map(decodeReserveReply);
}

/** release for many requests in one round trip; true where the reservation was outstanding. */
export async function releaseMany(
  redis: Redis | Cluster,
  keys: ReservationKeys,
  requests: readonly ReleaseRequest[],
): Promise<boolean[]> {
  for (const request of requests) assertReleaseRequest(request);
  if (requests.length === 0) return [];
  const values = await runCalls(
    redis,
    requests.map((request) => releaseCommand(keys, request)),
  );
  return values.map(decodeReleaseReply);
}
