import { randomBytes } from "node:crypto";
import { API_ERROR_CODES, createApi, loadApiConfig, type RouteEntry } from "@adpipe/api";
import fc from "fast-check";
import pg from "pg";
import { testServices, uniqueIdentifier } from "../../support/index.js";
import { freePort } from "../../support/ports.js";
import { ODD_NAMES } from "../support/hostile.js";
import { readTopic } from "../support/kafka-tools.js";
import { LagMonitor } from "../support/lag-monitor.js";
import { Pipeline } from "../support/pipeline.js";
import { type RawResponse, rawHttp } from "../support/raw-http.js";
import type { ScenarioResult } from "../support/results.js";
import { type ScenarioContext, scenarioResult, stopGracefully } from "../support/scenario.js";
import { registerSecret } from "../support/secrets.js";
import { verifyPipeline } from "../support/verify.js";
import { eventually } from "../support/wait.js";

/**
 * Scenario 8 (issue 14): an HTTP fuzz of the running API (its own process, Postgres, Redis and Kafka up, the
 * ingestor and tracker consuming). fast-check draws each request: a method, a path built from the API's route
 * table in a random spelling (percent-encoding of any character in either case, double encoding, doubled or
 * trailing slashes, `;` and `?` suffixes, odd parameter values), a caller (no token, a read or write token in
 * any spelling of the scheme, a wrong or malformed one), headers and a body (click batches and budgets, valid
 * or not, deep/huge/invalid JSON, NUL, RTL override, lone surrogates, huge numbers, prototype keys, wrong
 * content types), plus requests the HTTP parser refuses. Every answer must be below 500, in the documented
 * error shape when not 2xx, and grant or refuse exactly as the plain route would for that caller. Afterwards
 * every service must still be ready, and Kafka, Bronze and the audit must hold exactly what the API accepted.
 */

type Caller = "anonymous" | "read" | "write" | "wrong" | "malformed";

interface FuzzRequest {
  readonly method: string;
  /** The route the path was built from (null: a path that names no route). */
  readonly route: RouteEntry | null;
  readonly target: string;
  /** The spelling names the route's resource (so the route's own level applies). */
  readonly sameResource: boolean;
  readonly caller: Caller;
  readonly authorization: string | null;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Body | null;
  /** A request the HTTP parser itself refuses (no routing, no authorization). */
  readonly protocolError: boolean;
  readonly label: string;
}

interface Body {
  readonly contentType: string | null;
  /** Text with `__NOW__` (the request time) and `__CLICK__` (a fresh click id) placeholders, or raw bytes. */
  readonly text: string | Buffer;
  readonly kind: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const pct = (byte: number, lower: boolean) => {
  const hex = byte.toString(16).toUpperCase().padStart(2, "0");
  return `%${lower ? hex.toLowerCase() : hex}`;
};
/** Percent-encodes every UTF-8 byte of `text`; lone surrogates as their (invalid) UTF-8 bytes. */
function encodeAll(text: string, lower = false): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const bytes =
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        : [...Buffer.from(char, "utf8")];
    for (const byte of bytes) out += pct(byte, lower);
  }
  return out;
}
const hasLoneSurrogate = (text: string) => /\p{Cs}/u.test(text);

/** Values for path parameters: valid ids of every shape, and ids every route must refuse. */
const PARAM_VALUES = [
  "adv-1",
  "fuzz-known",
  ...ODD_NAMES,
  "adv{x}",
  "}",
  "100%",
  "a/b",
  "a;b?c#d",
  "€".repeat(128),
  "x".repeat(129),
  "a\u0000b",
  "tab\there",
  "lone\ud800",
  "\u202eevil",
  "__proto__",
  "constructor",
  "app.js",
  "app.css",
  "../main.js",
];
/** Query strings thrown at any route (reports read them; others ignore or refuse them). */
const QUERIES = [
  "",
  "?",
  "?limit=1",
  "?limit=0",
  "?limit=1e309",
  "?offset=-1",
  "?from=0000-01-01T00:00:00Z",
  "?from=2026-01-01T00:00:00%2B23:59",
  "?to=9999-12-31T23:59:59-05:00",
  "?from=2026-11-26T00:00:00Z&to=2026-11-25T00:00:00Z",
  "?advertiser=%00",
  "?advertiser=%E2%80%AEevil",
  "?advertiser_id=adv%7Bx%7D",
  "?advertiser_id=%ED%A0%80",
  "?ids=a,,b",
  "?ids=adv-1,adv%7Bx%7D",
  "?ids=%00",
  "?before_id=99999999999999999999",
  "?before_id=1&limit=500",
  "?__proto__[x]=1",
  "?a=%zz",
];
const NON_ROUTES = [
  "/v2/reports",
  "/v1",
  "/v1/nope",
  "/V1/clicks",
  "/api/v1/clicks",
  "/%2e%2e/etc/passwd",
  "/assets",
];

/** Writes `text` as the path the route template gives, parameters filled and encoded. */
function fill(
  url: string,
  params: readonly string[],
): { path: string; paramAt: Set<number>; decodable: boolean } {
  let path = "";
  const paramAt = new Set<number>();
  let decodable = true;
  let next = 0;
  const parts = url.replace(/::/g, "\uE000").split("/");
  parts.forEach((part, i) => {
    if (i > 0) path += "/";
    if (part.startsWith(":")) {
      const value = params[next++ % params.length] ?? "x";
      if (hasLoneSurrogate(value)) decodable = false;
      const encoded = hasLoneSurrogate(value) ? encodeAll(value) : encodeURIComponent(value);
      for (let k = 0; k < encoded.length; k++) paramAt.add(path.length + k);
      path += encoded;
    } else path += part.replace(/\uE000/g, ":");
  });
  return { path, paramAt, decodable };
}

type Spelling =
  | "plain"
  | "encode-some"
  | "encode-all-upper"
  | "encode-all-mixed"
  | "double-encode"
  | "encode-slash"
  | "trailing-slash"
  | "double-slash-prefix"
  | "semicolon"
  | "question";

/** A spelling of `path`; `same` tells whether it still names the same resource. */
function spell(
  path: string,
  paramAt: Set<number>,
  spelling: Spelling,
  pick: number,
): { target: string; same: boolean } {
  const chars = [...path];
  const staticIdx = chars.map((c, i) => ({ c, i })).filter(({ c, i }) => c !== "/" && !paramAt.has(i));
  const unreserved = staticIdx.filter(({ c }) => UNRESERVED.test(c));
  const at = <T>(list: readonly T[]) => list[pick % Math.max(1, list.length)];
  switch (spelling) {
    case "plain":
      return { target: path, same: true };
    case "encode-some": {
      const chosen = new Set(unreserved.filter((_, k) => (pick >> (k % 16)) & 1).map(({ i }) => i));
      return {
        target: chars.map((c, i) => (chosen.has(i) ? pct(c.charCodeAt(0), i % 2 === 0) : c)).join(""),
        same: true,
      };
    }
    case "encode-all-upper":
    case "encode-all-mixed": {
      const same = staticIdx.every(({ c }) => UNRESERVED.test(c));
      const lower = spelling === "encode-all-mixed";
      return {
        target: chars
          .map((c, i) => (c === "/" || paramAt.has(i) ? c : pct(c.charCodeAt(0), lower && i % 2 === 0)))
          .join(""),
        same,
      };
    }
    case "double-encode": {
      const one = at(staticIdx);
      if (one === undefined) return { target: path, same: true };
      return {
        target: chars
          .map((c, i) => (i === one.i ? `%25${pct(c.charCodeAt(0), false).slice(1)}` : c))
          .join(""),
        same: false,
      };
    }
    case "encode-slash": {
      const slashes = chars.map((c, i) => ({ c, i })).filter(({ c, i }) => c === "/" && i > 0);
      const one = at(slashes);
      if (one === undefined) return { target: path, same: true };
      return { target: chars.map((c, i) => (i === one.i ? "%2F" : c)).join(""), same: false };
    }
    case "trailing-slash":
      return { target: path.endsWith("/") ? path : `${path}/`, same: true };
    case "double-slash-prefix":
      return { target: `/${path}`, same: true };
    case "semicolon":
      return { target: `${path};jsessionid=${pick}`, same: true };
    case "question":
      return { target: `${path}?`, same: true };
  }
}

const click = (overrides: Record<string, string> = {}) =>
  `{${Object.entries({
    event_type: '"ad_click"',
    click_id: '"__CLICK__"',
    advertiser: '"Fuzz Co"',
    advertiser_id: '"fuzz-known"',
    ad_id: '"ad-1"',
    amount: '"0.25"',
    timestamp: '"__NOW__"',
    ...overrides,
  })
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(",")}}`;

const JSON_TYPE = "application/json";
const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  // Click batches: valid, partly valid, odd ids and amounts.
  fc
    .array(
      fc.oneof(
        fc.constant(click()),
        fc.constantFrom(...PARAM_VALUES).map((id) => click({ advertiser_id: JSON.stringify(id) })),
        fc
          .constantFrom(
            "1e309",
            "-1e309",
            "99999999999999999999",
            "-0",
            "1e-7",
            '"0.1234567"',
            '"1000.01"',
            "0.3",
          )
          .map((amount) => click({ amount })),
        fc.constantFrom('"budget_update"', '"\\u0000"', "null").map((type) => click({ event_type: type })),
        fc
          .constantFrom('"__NOW_LATE__"', '"__NOW_FUTURE__"', '"0000-01-01T00:00:00Z"')
          .map((t) => click({ timestamp: t })),
        fc.constant(click({ extra: '{"__proto__":{"polluted":true}}' })),
        fc.constant(click({ note: '"\\u202e\\u0000\\ud800"' })),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((items) => ({ contentType: JSON_TYPE, text: `[${items.join(",")}]`, kind: "click-batch" })),
  fc.constant({ contentType: JSON_TYPE, text: click(), kind: "one-click" }),
  // Budgets and pauses.
  fc
    .constantFrom('"12.5"', "250", '"10.1234567"', "1e-7", "1e309", '"-1"', '"1e40"', '"abc"', "null", '"0"')
    .map((amount) => ({ contentType: JSON_TYPE, text: `{"amount":${amount}}`, kind: "budget" })),
  fc
    .constantFrom('"web"', '"web\\u0000app"', '"\\u202eevil"', '"\\ud800"', `"${"s".repeat(70)}"`)
    .map((source) => ({
      contentType: JSON_TYPE,
      text: `{"amount":"3","advertiser":"Fuzz \\u202e Co","source":${source}}`,
      kind: "budget-source",
    })),
  fc
    .constantFrom(
      '"observe"',
      '"hard_cap"',
      '"HARD_CAP"',
      '"hard_cap\\u0000"',
      "null",
      "1",
      '["hard_cap"]',
      '""',
    )
    .map((mode) => ({ contentType: JSON_TYPE, text: `{"amount":"4","mode":${mode}}`, kind: "budget-mode" })),
  fc.constant({ contentType: JSON_TYPE, text: '{"mode":"hard_cap"}', kind: "budget-mode" }),
  fc
    .constantFrom(
      '{"note":"line\\nbreak"}',
      '{"note":"nul\\u0000"}',
      '{"source":"x","note":"\\u202e"}',
      "{}",
      '{"x":1}',
    )
    .map((text) => ({ contentType: JSON_TYPE, text, kind: "pause" })),
  fc.constant({ contentType: JSON_TYPE, text: '{"ids":["adv-1","adv{x}","\\u0000"]}', kind: "batch-lookup" }),
  // Structure attacks.
  fc.integer({ min: 33, max: 20_000 }).map((depth) => ({
    contentType: JSON_TYPE,
    text: `${"[".repeat(depth)}${"]".repeat(depth)}`,
    kind: "deep",
  })),
  fc.integer({ min: 33, max: 3_000 }).map((depth) => ({
    contentType: JSON_TYPE,
    text: `[${click({ extra: `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` })}]`,
    kind: "deep-in-click",
  })),
  fc.constantFrom(17_000, 70_000, 1_100_000).map((size) => ({
    contentType: JSON_TYPE,
    // Built when sent (__HUGE_n__): a sample of 20,000 requests must not hold hundreds of megabytes.
    text: `{"amount":"1","advertiser":"__HUGE_${size}__"}`,
    kind: "huge",
  })),
  fc
    .constantFrom(
      "{",
      "[1,]",
      "NaN",
      '{"a":1}}',
      "\u0000",
      "",
      '"\\ud800"',
      "[1e309]",
      "99999999999999999999999",
    )
    .map((text) => ({ contentType: JSON_TYPE, text, kind: "invalid-json" })),
  fc.constant({
    contentType: JSON_TYPE,
    text: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    kind: "bad-utf8",
  }),
  fc
    .constantFrom(
      '{"__proto__":{"isAdmin":true},"amount":"1"}',
      '[{"constructor":{"prototype":{"x":1}}}]',
      '{"a":{"__proto__":null}}',
    )
    .map((text) => ({ contentType: JSON_TYPE, text, kind: "prototype-key" })),
  fc
    .constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
      "application/xml",
    )
    .map((contentType) => ({ contentType, text: '{"amount":"1"}', kind: "content-type" })),
  fc.constant({ contentType: null, text: '{"amount":"1"}', kind: "no-content-type" }),
);

/** Authorization headers for a caller, in every spelling of the scheme. */
function authorizationFor(
  caller: Caller,
  tokens: { read: string; write: string },
  variant: number,
): string | null {
  const spellings = (t: string) => [
    `Bearer ${t}`,
    `bearer ${t}`,
    `BEARER ${t}`,
    `Bearer  ${t}`,
    `Bearer\t${t}`,
    `Bearer ${t} `,
  ];
  switch (caller) {
    case "anonymous":
      return null;
    case "read":
      return spellings(tokens.read)[variant % 6] ?? null;
    case "write":
      return spellings(tokens.write)[variant % 6] ?? null;
    case "wrong":
      return `Bearer not-${tokens.read}`;
    case "malformed":
      return [
        "Bearer",
        `Bearer ${tokens.write} extra`,
        `Basic ${Buffer.from(`user:${tokens.write}`).toString("base64")}`,
        tokens.write,
        `Bearer ${tokens.read},${tokens.write}`,
      ][variant % 5] as string;
  }
}

function requestArb(
  routes: readonly RouteEntry[],
  tokens: { read: string; write: string },
): fc.Arbitrary<FuzzRequest> {
  const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  const routed = fc
    .record({
      // Every route, with the ones that read a body drawn as often as all the others together.
      route: fc.oneof(
        fc.constantFrom(...routes),
        fc.constantFrom(...routes.filter((r) => r.method === "POST" || r.method === "PUT")),
      ),
      otherMethod: fc.option(fc.constantFrom(...methods), { freq: 5 }),
      params: fc.array(fc.constantFrom(...PARAM_VALUES), { minLength: 1, maxLength: 2 }),
      spelling: fc.constantFrom<Spelling>(
        "plain",
        "plain",
        "encode-some",
        "encode-all-upper",
        "encode-all-mixed",
        "double-encode",
        "encode-slash",
        "trailing-slash",
        "double-slash-prefix",
        "semicolon",
        "question",
      ),
      pick: fc.nat(),
      query: fc.constantFrom(...QUERIES),
    })
    .map(({ route, otherMethod, params, spelling, pick, query }) => {
      const { path, paramAt, decodable } = fill(route.url, params);
      const spelled = spell(path, paramAt, spelling, pick);
      return {
        route,
        method: otherMethod ?? route.method,
        target: `${spelled.target}${spelling === "question" || spelling === "semicolon" ? "" : query}`,
        sameResource: spelled.same && decodable,
        label: `${route.method} ${route.url} as ${spelling}`,
      };
    });
  const unrouted = fc
    .record({ path: fc.constantFrom(...NON_ROUTES), method: fc.constantFrom(...methods) })
    .map(({ path, method }) => ({
      route: null,
      method,
      target: path,
      sameResource: false,
      label: `no route ${path}`,
    }));
  const extraHeader = fc.constantFrom<readonly [string, string]>(
    ["x-forwarded-for", "10.0.0.1, 127.0.0.1"],
    ["x-request-id", "injected-id"],
    ["accept", "text/html"],
    ["accept-encoding", "gzip, br"],
    ["x-rtl", "\u202eevil"],
    ["x-emoji", "💸"],
    ["cookie", "session=abc; token=xyz"],
    ["x-http-method-override", "DELETE"],
    ["content-encoding", "gzip"],
  );
  const normal = fc
    .record({
      where: fc.oneof({ weight: 9, arbitrary: routed }, { weight: 1, arbitrary: unrouted }),
      caller: fc.constantFrom<Caller>("write", "write", "read", "read", "anonymous", "wrong", "malformed"),
      variant: fc.nat(),
      headers: fc.array(extraHeader, { maxLength: 2 }),
      body: fc.option(bodyArb, { freq: 3 }),
    })
    .map(({ where, caller, variant, headers, body }): FuzzRequest => {
      const withBody = where.method !== "GET" && where.method !== "HEAD" ? body : null;
      return {
        method: where.method,
        route: where.route,
        target: where.target,
        sameResource: where.sameResource,
        caller,
        authorization: authorizationFor(caller, tokens, variant),
        headers,
        body: withBody,
        protocolError: false,
        label: `${where.label}, ${caller}, body ${withBody?.kind ?? "none"}`,
      };
    });
  // Writes that should be accepted, so the accounting at the end has something to count.
  const wellFormed = fc
    .record({
      kind: fc.constantFrom("clicks", "budget", "pause", "resume"),
      id: fc.constantFrom("fuzz-known", "adv{x}", "}", "Acme 🚀 Ads", "\u202eevil-rtl", "100%"),
      spelling: fc.constantFrom<Spelling>(
        "plain",
        "encode-some",
        "trailing-slash",
        "double-slash-prefix",
        "semicolon",
      ),
      pick: fc.nat(),
      clicks: fc.integer({ min: 1, max: 4 }),
      variant: fc.nat(),
    })
    .map(({ kind, id, spelling, pick, clicks, variant }): FuzzRequest => {
      const route = routes.find((r) =>
        kind === "clicks"
          ? r.url === "/v1/clicks"
          : kind === "budget"
            ? r.url === "/v1/advertisers/:id/budget" && r.method === "PUT"
            : r.url === `/v1/advertisers/:id/${kind}`,
      ) as RouteEntry;
      const { path, paramAt } = fill(route.url, [id]);
      const spelled = spell(path, paramAt, spelling, pick);
      const text =
        kind === "clicks"
          ? `[${Array.from({ length: clicks }, () => click({ advertiser_id: JSON.stringify(id) })).join(",")}]`
          : kind === "budget"
            ? `{"amount":"${(pick % 5_000) / 100}"}`
            : '{"note":"fuzz"}';
      return {
        method: route.method,
        route,
        target: spelled.target,
        sameResource: spelled.same,
        caller: "write",
        authorization: authorizationFor("write", tokens, variant),
        headers: [],
        body: { contentType: JSON_TYPE, text, kind: `well-formed ${kind}` },
        protocolError: false,
        label: `well-formed ${kind} ${spelling}`,
      };
    });
  const protocol = fc.constantFrom<FuzzRequest>(
    {
      method: "GET",
      route: null,
      target: "/healthz",
      sameResource: false,
      caller: "anonymous",
      authorization: null,
      headers: [["x-filler", "f".repeat(20_000)]],
      body: null,
      protocolError: true,
      label: "headers over 16 KiB",
    },
    {
      method: "GET",
      route: null,
      target: "/healthz",
      sameResource: false,
      caller: "anonymous",
      authorization: null,
      headers: [["x-nul", "a\u0000b"]],
      body: null,
      protocolError: true,
      label: "NUL in a header value",
    },
    {
      method: "GET",
      route: null,
      target: "/v1/reports/spend/total HTTP/1.1 junk",
      sameResource: false,
      caller: "anonymous",
      authorization: null,
      headers: [],
      body: null,
      protocolError: true,
      label: "broken request line",
    },
  );
  return fc.oneof(
    { weight: 14, arbitrary: normal },
    { weight: 5, arbitrary: wellFormed },
    { weight: 1, arbitrary: protocol },
  );
}

/** The request as bytes, with the placeholders of its body filled in at send time. */
function encodeRequest(request: FuzzRequest, port: number, nextClickId: () => string): Buffer {
  let body: Buffer | null = null;
  if (request.body !== null) {
    body =
      typeof request.body.text === "string"
        ? Buffer.from(
            request.body.text
              .replace(/__HUGE_(\d+)__/g, (_, size: string) => "h".repeat(Number(size)))
              .replace(/__NOW_LATE__/g, new Date(Date.now() - 10 * 86_400_000).toISOString())
              .replace(/__NOW_FUTURE__/g, new Date(Date.now() + 3_600_000).toISOString())
              .replace(/__NOW__/g, () => new Date().toISOString())
              .replace(/__CLICK__/g, nextClickId),
            "utf8",
          )
        : request.body.text;
  }
  const lines = [
    `${request.method} ${request.target} HTTP/1.1`,
    `host: 127.0.0.1:${port}`,
    "connection: close",
  ];
  if (request.authorization !== null) lines.push(`authorization: ${request.authorization}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (body !== null) {
    if (request.body?.contentType != null) lines.push(`content-type: ${request.body.contentType}`);
    lines.push(`content-length: ${body.length}`);
  }
  // Header values go out as UTF-8 bytes (obs-text), the way a hostile client sends them.
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"), body ?? Buffer.alloc(0)]);
}

const STATUS_OF_CODE: Record<string, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  dependency_unavailable: 503,
  internal_error: 500,
};

/** What an answer must look like when it is not a success: the documented error shape, nothing else. */
function shapeProblem(response: RawResponse, method: string): string | null {
  if (response.status < 400 || method === "HEAD") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString("utf8"));
  } catch {
    return `not JSON: ${response.body.subarray(0, 80).toString("utf8")}`;
  }
  const error = (parsed as { error?: Record<string, unknown> }).error;
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Object.keys(parsed).join() !== "error" ||
    error === undefined
  )
    return `not {error}: ${JSON.stringify(parsed).slice(0, 120)}`;
  const extra = Object.keys(error).filter((k) => !["code", "message", "request_id", "details"].includes(k));
  if (extra.length > 0) return `unexpected fields ${extra.join(",")}`;
  if (typeof error.code !== "string" || !(API_ERROR_CODES as readonly string[]).includes(error.code))
    return `unknown code ${String(error.code)}`;
  if (STATUS_OF_CODE[error.code] !== response.status)
    return `code ${error.code} with status ${response.status}`;
  if (typeof error.message !== "string" || typeof error.request_id !== "string")
    return "no message or request_id";
  return null;
}

export interface FuzzFigures {
  requests: number;
  failures: string[];
  statuses: Record<string, number>;
  kinds: Record<string, number>;
  acceptedClicks: string[];
  acceptedBudgets: string[];
  acceptedPauses: number;
  /** Advertisers an accepted pause or resume touched (settled at the end, see below). */
  pausedIds: Set<string>;
}

export async function httpFuzz(context: ScenarioContext): Promise<ScenarioResult> {
  const { profile, log } = context;
  const startedAtMs = Date.now();
  const tokens = {
    read: registerSecret("API read token (fuzz)", `r-${randomBytes(16).toString("hex")}`),
    write: registerSecret("API write token (fuzz)", `w-${randomBytes(16).toString("hex")}`),
  };
  const pipeline = await Pipeline.create({ scenario: "fuzz", partitions: 2 });
  const monitor = new LagMonitor(pipeline);
  const apiRole = uniqueIdentifier("integrity_fuzz_api");
  try {
    await pipeline.db.pool.query(`CREATE ROLE ${pg.escapeIdentifier(apiRole)} LOGIN IN ROLE adpipe_api`);
    await pipeline.startIngestor();
    await pipeline.startTracker();
    monitor.start();
    const apiUrl = new URL(testServices().databaseUrl);
    apiUrl.pathname = `/${pipeline.db.name}`;
    apiUrl.username = apiRole;
    apiUrl.password = "";
    const port = await freePort();
    const apiEnv = {
      API_HOST: "127.0.0.1",
      API_PORT: String(port),
      DATABASE_URL: apiUrl.toString(),
      REDIS_URL: pipeline.redisUrl,
      REDIS_KEY_PREFIX: pipeline.prefix,
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: pipeline.topic,
      API_WRITE_TOKENS: `fuzzer:${tokens.write}`,
      API_READ_TOKENS: `reader:${tokens.read}`,
      API_WRITE_RATE_LIMIT_PER_MINUTE: "0",
      API_LAG_GROUPS: `${pipeline.ingestorGroup},${pipeline.trackerGroup}`,
      LOG_LEVEL: "warn",
    };
    const api = pipeline.children.spawn("api", apiEnv);
    // The route table, from the same code the child runs (an in-process app: it is only asked for its routes).
    const local = await createApi(loadApiConfig({ ...apiEnv, API_PORT: "0", LOG_LEVEL: "silent" }));
    const routes = [...local.app.routeTable];
    await local.close();
    const levels = new Map(routes.map((r) => [`${r.method} ${r.url}`, r.auth]));
    await eventually(
      "the API and the tracker are ready",
      async () =>
        (await rawHttp(port, Buffer.from(`GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`)))
          .status === 200 && (await pipeline.store.readMeta()) !== null,
      120_000,
      250,
    );

    const requests = fc.sample(requestArb(routes, tokens), {
      numRuns: profile.httpFuzz.requests,
      seed: profile.seed + 800,
    });
    const figures: FuzzFigures = {
      requests: 0,
      failures: [],
      statuses: {},
      kinds: {},
      acceptedClicks: [],
      acceptedBudgets: [],
      acceptedPauses: 0,
      pausedIds: new Set(),
    };
    let clickCounter = 0;
    const nextClickId = () => `fuzz-${profile.seed}-${clickCounter++}`;
    const fail = (request: FuzzRequest, what: string) => {
      figures.failures.push(`${request.method} ${request.target.slice(0, 100)} [${request.label}]: ${what}`);
    };
    const execute = async (request: FuzzRequest) => {
      let response: RawResponse;
      try {
        response = await rawHttp(port, encodeRequest(request, port, nextClickId));
      } catch (error) {
        fail(request, `no answer: ${String(error)}`);
        return;
      }
      figures.requests += 1;
      figures.statuses[String(response.status)] = (figures.statuses[String(response.status)] ?? 0) + 1;
      const kind = request.body?.kind ?? "no body";
      figures.kinds[kind] = (figures.kinds[kind] ?? 0) + 1;
      if (response.status >= 500)
        fail(request, `${response.status} ${response.body.subarray(0, 160).toString("utf8")}`);
      const shape = shapeProblem(response, request.method);
      if (shape !== null) fail(request, `${response.status}: ${shape}`);
      if (
        response.status === 401 &&
        !/^Bearer realm="adpipe"/.test(response.headers["www-authenticate"] ?? "")
      )
        fail(request, "401 without WWW-Authenticate: Bearer");
      if (!request.protocolError) {
        // The plain route's decision for this caller: its declared level when the spelling names it and the
        // method is registered there, else the default level of any unknown path (read).
        const level =
          request.route !== null && request.sameResource
            ? (levels.get(`${request.method} ${request.route.url}`) ?? "read")
            : "read";
        const allowed =
          level === "public" ||
          (level === "read" && (request.caller === "read" || request.caller === "write")) ||
          (level === "write" && request.caller === "write");
        if ((response.status === 401) === allowed)
          fail(
            request,
            `${response.status}: the plain route ${allowed ? "lets this caller in" : "refuses this caller"}`,
          );
      }
      // What the API accepted, to hold Kafka, Bronze and the audit to it afterwards.
      const url = request.route?.url;
      if (request.route !== null && request.sameResource && request.method === request.route.method) {
        if (url === "/v1/clicks" && response.status === 202)
          figures.acceptedClicks.push(
            ...(JSON.parse(response.body.toString("utf8")) as { accepted: string[] }).accepted,
          );
        if (url === "/v1/advertisers/:id/budget" && response.status === 200)
          figures.acceptedBudgets.push(
            (JSON.parse(response.body.toString("utf8")) as { event_id: string }).event_id,
          );
        if (
          (url === "/v1/advertisers/:id/pause" || url === "/v1/advertisers/:id/resume") &&
          response.status === 200
        ) {
          figures.acceptedPauses += 1;
          figures.pausedIds.add(
            (JSON.parse(response.body.toString("utf8")) as { advertiser_id: string }).advertiser_id,
          );
        }
      } else if (
        response.status === 202 ||
        (response.status === 200 && request.body?.kind.includes("budget"))
      ) {
        // A write accepted through a spelling that should not reach the route would be a finding in itself.
        if (
          request.method !== "GET" &&
          request.method !== "HEAD" &&
          /\/(clicks|budget)\b/.test(request.target)
        )
          fail(request, `a write was accepted through ${request.target.slice(0, 80)}`);
      }
    };
    // A few requests at a time: the API sees concurrency, the suite stays gentle on a small machine.
    const CONCURRENCY = 6;
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const request = requests[next++] as FuzzRequest;
          await execute(request);
          if (figures.requests % 2_000 === 0)
            log(`${figures.requests} requests, ${figures.failures.length} failures`);
        }
      }),
    );
    log(
      `HTTP fuzz: ${figures.requests} requests in ${((Date.now() - started) / 1_000).toFixed(1)} s, ${figures.failures.length} failures; statuses ${JSON.stringify(figures.statuses)}; accepted ${figures.acceptedClicks.length} clicks, ${figures.acceptedBudgets.length} budgets, ${figures.acceptedPauses} pauses/resumes`,
    );

    for (const failure of figures.failures.slice(0, 15)) log(`  failure: ${failure}`);
    const fuzzRequests = figures.requests;

    // Settlement: a pause is not an event, so the oracle cannot know it. Every advertiser a pause or resume
    // touched gets a budget (an event the oracle sees) and a resume, through the API like any request, so
    // Redis must again equal the oracle to the micro-unit.
    const settle = (method: string, url: string, id: string, text: string): FuzzRequest => ({
      method,
      route: routes.find((r) => r.method === method && r.url === url) as RouteEntry,
      target: url.replace(":id", encodeAll(id)),
      sameResource: true,
      caller: "write",
      authorization: `Bearer ${tokens.write}`,
      headers: [],
      body: { contentType: JSON_TYPE, text, kind: "settlement" },
      protocolError: false,
      label: `settlement of ${id}`,
    });
    for (const id of [...figures.pausedIds]) {
      await execute(settle("PUT", "/v1/advertisers/:id/budget", id, '{"amount":"10"}'));
      await execute(settle("POST", "/v1/advertisers/:id/resume", id, "{}"));
    }

    // Every service is still ready.
    const readiness = {
      api: (
        await rawHttp(
          port,
          Buffer.from(
            `GET /readyz HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${tokens.read}\r\nconnection: close\r\n\r\n`,
          ),
        )
      ).body.toString("utf8"),
      ingestor: (await pipeline.instances("ingestor")[0]?.ops("/readyz"))?.status ?? 0,
      tracker: (await pipeline.instances("tracker")[0]?.ops("/readyz"))?.status ?? 0,
      apiProcessRunning: api.running,
    };

    // Kafka, Bronze and the audit hold exactly what was accepted.
    await pipeline.waitCaughtUp(600_000);
    monitor.stop();
    const topic = await readTopic(pipeline.kafka, pipeline.topic);
    const topicEvents = topic.map(
      (record) => JSON.parse(record.value?.toString("utf8") ?? "{}") as Record<string, unknown>,
    );
    const sorted = (list: readonly unknown[]) => list.map(String).sort();
    const { rows: bronze } = await pipeline.db.pool.query<{
      event_type: string | null;
      click_id: string | null;
    }>("SELECT event_type, click_id FROM bronze.ad_click_events_raw WHERE topic = $1", [pipeline.topic]);
    const { rows: audit } = await pipeline.db.pool.query<{ action: string; event_id: string | null }>(
      "SELECT action, event_id FROM api.budget_audit",
    );
    const stores = {
      kafkaClicks: sorted(topicEvents.filter((e) => e.event_type === "ad_click").map((e) => e.click_id)),
      kafkaBudgets: sorted(
        topicEvents.filter((e) => e.event_type === "budget_update").map((e) => e.click_id),
      ),
      kafkaOther: topicEvents.filter((e) => e.event_type !== "ad_click" && e.event_type !== "budget_update")
        .length,
      bronzeClicks: sorted(bronze.filter((r) => r.event_type === "ad_click").map((r) => r.click_id)),
      bronzeBudgets: sorted(bronze.filter((r) => r.event_type === "budget_update").map((r) => r.click_id)),
      bronzeRows: bronze.length,
      auditBudgets: sorted(audit.filter((r) => r.action === "set_budget").map((r) => r.event_id)),
      auditPauses: audit.filter((r) => r.action !== "set_budget").length,
    };
    const accepted = { clicks: sorted(figures.acceptedClicks), budgets: sorted(figures.acceptedBudgets) };
    const ledger = {
      kafkaClicksEqualAccepted: JSON.stringify(stores.kafkaClicks) === JSON.stringify(accepted.clicks),
      kafkaBudgetsEqualAccepted: JSON.stringify(stores.kafkaBudgets) === JSON.stringify(accepted.budgets),
      kafkaOther: stores.kafkaOther,
      bronzeClicksEqualAccepted: JSON.stringify(stores.bronzeClicks) === JSON.stringify(accepted.clicks),
      bronzeBudgetsEqualAccepted: JSON.stringify(stores.bronzeBudgets) === JSON.stringify(accepted.budgets),
      bronzeRowsEqualTopic: stores.bronzeRows === topic.length,
      auditBudgetsEqualAccepted: JSON.stringify(stores.auditBudgets) === JSON.stringify(accepted.budgets),
      auditPausesEqualAccepted: stores.auditPauses === figures.acceptedPauses,
      counts: {
        acceptedClicks: accepted.clicks.length,
        acceptedBudgets: accepted.budgets.length,
        acceptedPauses: figures.acceptedPauses,
        kafkaRecords: topic.length,
        bronzeRows: stores.bronzeRows,
        auditRows: audit.length,
      },
    };
    log(`ledger ${JSON.stringify(ledger)}`);
    const verification = await verifyPipeline(pipeline);
    const crashed = pipeline.children.crashed().map((c) => `${c.label} exit ${JSON.stringify(c.exit)}`);
    const exits = await stopGracefully(pipeline);
    return scenarioResult({
      scenario: "8-http-fuzz",
      title:
        "HTTP fuzz of every route: no 5xx, one error shape, one authorization decision, only accepted writes stored",
      startedAtMs,
      verification,
      faults: [],
      monitor,
      extra: {
        requests: fuzzRequests,
        settlementRequests: figures.requests - fuzzRequests,
        failures: figures.failures.slice(0, 30),
        failureCount: figures.failures.length,
        statuses: figures.statuses,
        bodyKinds: figures.kinds,
        routes: routes.length,
        readiness,
        ledger,
        unexpectedExits: crashed,
        exitsOnSigterm: exits,
      },
    });
  } finally {
    monitor.stop();
    await pipeline.close();
    const admin = new pg.Client({ connectionString: testServices().databaseUrl });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(apiRole)}`).catch(() => undefined);
    await admin.end();
  }
}
