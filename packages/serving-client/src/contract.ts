import { ServingClientError } from "./errors.js";

/**
 * The Redis contract between the budget-tracker (writer) and ad servers (readers).
 * This module is the single definition of key names, field names and the change message;
 * @adpipe/spend-store imports it so writer and reader cannot drift apart.
 */

export const DEFAULT_KEY_PREFIX = "adspend:";

/** Longest advertiser id (the event contract's limit, in UTF-16 code units). */
export const MAX_ADVERTISER_ID_LENGTH = 128;

/** Why an advertiser is not served; mirrors NOT_SERVING_REASONS in @adpipe/core (a test keeps them equal). */
export const NOT_SERVING_REASONS = ["budget_exhausted", "no_budget", "paused", "ahead_of_pace"] as const;
export type NotServingReason = (typeof NOT_SERVING_REASONS)[number];

/**
 * Where the budget in force came from; mirrors BUDGET_SOURCES in @adpipe/core (a test keeps them equal).
 * api: set through the pipeline's HTTP API; budget_update: a budget_update event from another producer;
 * click: budget_value carried on clicks (in force only while the advertiser has no explicit budget).
 */
export const BUDGET_SOURCES = ["api", "budget_update", "click"] as const;
export type BudgetSource = (typeof BUDGET_SOURCES)[number];

/**
 * How the budget bounds billing; mirrors BUDGET_MODES in @adpipe/core (a test keeps them equal). observe (the
 * default, also when the hash has no `mode`): every valid click is billed, the budget decides can_serve only;
 * hard_cap: billing stops at the budget, the rest of the period's spend is over_cap.
 */
export const BUDGET_MODES = ["observe", "hard_cap"] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];

/**
 * How spend is spread over the period; mirrors PACING_MODES in @adpipe/core (a test keeps them equal). asap (the
 * default, also when the hash has no `pacing`), even, shaped: see docs/realtime.md "Pacing".
 */
export const PACING_MODES = ["asap", "even", "shaped"] as const;
export type PacingMode = (typeof PACING_MODES)[number];

/**
 * Public fields of the advertiser hash, in the order the client reads them with HMGET; last `_shape`, internal
 * (the tracker's learnt traffic shape), read for ServingState.trafficShape (the dashboard's shaped target curve).
 */
export const PUBLIC_FIELDS = [
  "can_serve",
  "reason",
  "period",
  "net_micros",
  "gross_micros",
  "budget_micros",
  "clicks",
  "updated_at",
  "budget_source",
  "mode",
  "over_cap_micros",
  "forecast_exhausted_at",
  "forecast_period_spend_micros",
  "budget_period",
  "time_zone",
  "pacing",
  "serve_fraction",
  "_shape",
] as const;
export type PublicField = (typeof PUBLIC_FIELDS)[number];

/** The state of one advertiser as ad servers see it. Money is integer micro-units (1 unit = 1e6). */
export interface ServingState {
  readonly advertiserId: string;
  readonly canServe: boolean;
  /** null while serving. */
  readonly reason: NotServingReason | null;
  /** Budget period id the spend belongs to, e.g. `2026-11-25` for daily budgets. */
  readonly period: string;
  readonly netMicros: number;
  readonly grossMicros: number;
  /** null when no budget has been observed for the advertiser. */
  readonly budgetMicros: number | null;
  /**
   * Where budgetMicros came from; null without a budget (or for a state written before sources were recorded,
   * until the tracker's next rebuild or explicit budget).
   */
  readonly budgetSource: BudgetSource | null;
  /** The budget mode in force; observe when the hash has none (no explicit budget ever set one). */
  readonly mode: BudgetMode;
  /** Spend of the period beyond a hard_cap budget (not billed, not in netMicros); 0 when the hash has none. */
  readonly overCapMicros: number;
  /**
   * Forecast (docs/realtime.md#forecasts): epoch ms at which the period's net is projected to reach the budget,
   * null when not within the period (or not forecast yet).
   */
  readonly forecastExhaustedAtMs: number | null;
  /** Forecast net at the period's end (micros); null when not forecast (lifetime periods, not refreshed yet). */
  readonly forecastPeriodSpendMicros: number | null;
  /**
   * The advertiser's budget calendar: the period its budget spans (hour, day, month, lifetime) and the IANA
   * zone `period` follows; the service-wide ones unless the advertiser set its own. null in a hash written
   * before calendars existed (the service-wide BUDGET_PERIOD / BUDGET_TIME_ZONE then apply).
   */
  readonly budgetPeriod: string | null;
  readonly timeZone: string | null;
  /** The pacing in force; asap when the hash has none. */
  readonly pacing: PacingMode;
  /**
   * Share of requests to serve (0..1) for ad servers that throttle probabilistically: 1 on or below the pacing
   * target, falling linearly to 0 across the tolerance band; 0 whenever canServe is false. Without a
   * `serve_fraction` field (never-paced advertisers): 1 when serving, else 0. Note: a cached state is refreshed
   * on can_serve changes, so with the local cache serveFraction may lag by up to the cache TTL.
   */
  readonly serveFraction: number;
  /**
   * `shaped` pacing only: the traffic shape the tracker learnt (`_shape`: 24 non-negative integer weights, one per
   * hour since the period's local day start), as pacing reads it; null when not shaped, not learnt yet or not 24
   * integers (core's parseShape; the advertiser then paces even).
   */
  readonly trafficShape: readonly number[] | null;
  readonly clicks: number;
  /** Epoch ms of the last change written by the tracker. */
  readonly updatedAtMs: number;
}

/** Published (JSON) on the changes channel. */
export type ServingChangeMessage =
  | {
      readonly type: "serving_change";
      readonly advertiserId: string;
      readonly canServe: boolean;
      readonly reason: NotServingReason | null;
      readonly period: string;
      readonly updatedAt: number;
    }
  /** The tracker rebuilt the whole state (e.g. after Redis lost it): drop every cached entry. */
  | { readonly type: "reset"; readonly at: number };

/**
 * The event contract's advertiser-id rule (isValidAdvertiserId in @adpipe/core, mirrored here because ad servers
 * use this package without core; a test keeps the two equal): 1..128 UTF-16 code units, no control character
 * (U+0000..U+001F, U+007F), no lone surrogate. Everything else is allowed, braces and `%` included.
 */
export function isValidAdvertiserId(advertiserId: unknown): advertiserId is string {
  if (typeof advertiserId !== "string") return false;
  const n = advertiserId.length;
  if (n === 0 || n > MAX_ADVERTISER_ID_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = advertiserId.charCodeAt(i);
    if (c < 32 || c === 127) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = advertiserId.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

export function assertAdvertiserId(advertiserId: string): void {
  if (!isValidAdvertiserId(advertiserId)) {
    throw new ServingClientError(
      "invalid_advertiser_id",
      `advertiser id must be 1..${MAX_ADVERTISER_ID_LENGTH} characters without control characters`,
    );
  }
}

const TAG_ESCAPES: Readonly<Record<string, string>> = { "%": "%25", "{": "%7B", "}": "%7D" };
const TAG_UNESCAPES: Readonly<Record<string, string>> = { "%25": "%", "%7B": "{", "%7D": "}" };

/**
 * `{<advertiser_id>}` with `%`, `{` and `}` percent-encoded. The braces are a Redis Cluster hash tag: every key
 * of one advertiser (its hash, its pending spend, its dedup sets) lands in the same slot, which Lua scripts
 * require. Redis takes the tag up to the first `}`, so a brace inside the id would cut the tag short (an id
 * starting with `}` would even give an empty tag, and every key its own slot); encoded, any valid id is a
 * whole tag. Ids without those three characters (nearly all) appear verbatim.
 */
export function advertiserHashTag(advertiserId: string): string {
  assertAdvertiserId(advertiserId);
  return `{${advertiserId.replace(/[%{}]/g, (c) => TAG_ESCAPES[c] ?? c)}}`;
}

/** `<prefix>adv:{<advertiser_id, braces and % encoded>}` (see advertiserHashTag). */
export function advertiserKey(advertiserId: string, prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${prefix}adv:${advertiserHashTag(advertiserId)}`;
}

/** Pattern matching every advertiser hash under a prefix (for SCAN). */
export function advertiserKeyPattern(prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${escapeGlob(prefix)}adv:{*}`;
}

/** Inverse of advertiserKey; null when the key is not an advertiser hash under this prefix. */
export function advertiserIdFromKey(key: string, prefix: string = DEFAULT_KEY_PREFIX): string | null {
  const head = `${prefix}adv:{`;
  if (!key.startsWith(head) || !key.endsWith("}")) return null;
  const id = key.slice(head.length, -1).replace(/%(?:25|7B|7D)/g, (e) => TAG_UNESCAPES[e] ?? e);
  return id.length > 0 ? id : null;
}

export function servingChangesChannel(prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${prefix}serving-changes`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function isBudgetSource(value: string): value is BudgetSource {
  return (BUDGET_SOURCES as readonly string[]).includes(value);
}

function isBudgetMode(value: string): value is BudgetMode {
  return (BUDGET_MODES as readonly string[]).includes(value);
}

function isReason(value: string): value is NotServingReason {
  return (NOT_SERVING_REASONS as readonly string[]).includes(value);
}

function integerField(advertiserId: string, field: PublicField, raw: string | null): number {
  const value = raw === null || raw === "" ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(value)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: field ${field} is not a safe integer (${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/** An ISO-8601 UTC time field as epoch ms; null when absent or empty. */
function timeField(advertiserId: string, field: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const ms = Date.parse(value);
  if (!Number.isSafeInteger(ms)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: ${field} is ${JSON.stringify(value)}, expected an ISO time`,
    );
  }
  return ms;
}

/**
 * Builds the typed state from HMGET values in PUBLIC_FIELDS order; null when the hash does not
 * exist (every field null), i.e. the advertiser is unknown.
 */
export function parseServingState(
  advertiserId: string,
  values: readonly (string | null)[],
): ServingState | null {
  if (values.every((value) => value === null)) return null;
  const [
    canServe,
    reason,
    period,
    net,
    gross,
    budget,
    clicks,
    updatedAt,
    source,
    mode,
    overCap,
    exhaustedAt,
    spend,
    budgetPeriod,
    zone,
    pacing,
    fraction,
    shape,
  ] = values;
  if (canServe !== "1" && canServe !== "0") {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: can_serve is ${JSON.stringify(canServe ?? null)}, expected "1" or "0"`,
    );
  }
  const parsedReason = reason === null || reason === undefined || reason === "" ? null : reason;
  if (parsedReason !== null && !isReason(parsedReason)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: unknown reason ${JSON.stringify(parsedReason)}`,
    );
  }
  const budgetSource = source === null || source === undefined || source === "" ? null : source;
  if (budgetSource !== null && !isBudgetSource(budgetSource)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: unknown budget_source ${JSON.stringify(budgetSource)}`,
    );
  }
  const budgetMode = mode === null || mode === undefined || mode === "" ? "observe" : mode;
  if (!isBudgetMode(budgetMode)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: unknown mode ${JSON.stringify(budgetMode)}`,
    );
  }
  const pacingMode = pacing === null || pacing === undefined || pacing === "" ? "asap" : pacing;
  if (!(PACING_MODES as readonly string[]).includes(pacingMode)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: unknown pacing ${JSON.stringify(pacingMode)}`,
    );
  }
  const serveFraction =
    fraction === null || fraction === undefined || fraction === ""
      ? canServe === "1"
        ? 1
        : 0
      : Number(fraction);
  if (!(serveFraction >= 0 && serveFraction <= 1)) {
    throw new ServingClientError(
      "malformed_state",
      `advertiser ${advertiserId}: serve_fraction is ${JSON.stringify(fraction)}, expected 0..1`,
    );
  }
  return {
    advertiserId,
    canServe: canServe === "1",
    pacing: pacingMode as PacingMode,
    serveFraction,
    trafficShape: pacingMode === "shaped" ? parseShapeField(shape) : null,
    reason: parsedReason,
    period: period ?? "",
    netMicros: integerField(advertiserId, "net_micros", net ?? null),
    grossMicros: integerField(advertiserId, "gross_micros", gross ?? null),
    budgetMicros:
      budget === null || budget === undefined || budget === ""
        ? null
        : integerField(advertiserId, "budget_micros", budget),
    budgetSource,
    mode: budgetMode,
    overCapMicros:
      overCap === null || overCap === undefined || overCap === ""
        ? 0
        : integerField(advertiserId, "over_cap_micros", overCap),
    forecastExhaustedAtMs: timeField(advertiserId, "forecast_exhausted_at", exhaustedAt),
    forecastPeriodSpendMicros:
      spend === null || spend === undefined || spend === ""
        ? null
        : integerField(advertiserId, "forecast_period_spend_micros", spend),
    budgetPeriod: budgetPeriod === undefined || budgetPeriod === "" ? null : budgetPeriod,
    timeZone: zone === undefined || zone === "" ? null : zone,
    clicks: integerField(advertiserId, "clicks", clicks ?? null),
    updatedAtMs: integerField(advertiserId, "updated_at", updatedAt ?? null),
  };
}

/** Hours in a traffic shape (SHAPE_HOURS of @adpipe/core). */
const SHAPE_HOURS = 24;

/** `_shape` as core's parseShape reads it (mirrored: ad servers use this package without core; a test keeps them equal). */
export function parseShapeField(field: string | null | undefined): number[] | null {
  if (field === null || field === undefined || field === "") return null;
  const parts = field.split(",");
  if (parts.length !== SHAPE_HOURS) return null;
  const weights = parts.map(Number);
  return weights.every((w) => Number.isSafeInteger(w) && w >= 0) ? weights : null;
}

/** Parses a message from the changes channel; null for anything that is not a known message. */
export function parseServingChangeMessage(text: string): ServingChangeMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message.type === "reset" && typeof message.at === "number") return { type: "reset", at: message.at };
  if (
    message.type === "serving_change" &&
    typeof message.advertiserId === "string" &&
    typeof message.canServe === "boolean" &&
    typeof message.period === "string" &&
    typeof message.updatedAt === "number" &&
    (message.reason === null || (typeof message.reason === "string" && isReason(message.reason)))
  ) {
    return {
      type: "serving_change",
      advertiserId: message.advertiserId,
      canServe: message.canServe,
      reason: message.reason as NotServingReason | null,
      period: message.period,
      updatedAt: message.updatedAt,
    };
  }
  return null;
}
