import type { RouteEntry } from "@adpipe/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard } from "../../../services/api/scripts/build-web.js";
import { type ApiBench, call, READ_TOKEN, startApiBench, WRITE_TOKEN } from "./harness.js";

/**
 * Issue 14, defect 1: authorization is decided on the route the router matched, never on the URL text. Every
 * registered route (HEAD included) is called by four callers in every spelling of its path; a spelling that
 * names the same resource gets exactly the plain form's status, one that names another path (a double
 * encoding, an encoded `/` or `:`) matches no route and gets what any unknown path gets: 401 without a
 * valid token, else 404 — never a handler.
 */

type Caller = "anonymous" | "wrong token" | "read token" | "write token";
const CALLERS: Record<Caller, string | undefined> = {
  anonymous: undefined,
  "wrong token": "wrong-secret-0000",
  "read token": READ_TOKEN,
  "write token": WRITE_TOKEN,
};
/** Callers whose token passes the default (read) level. */
const HAS_READ_ACCESS: Record<Caller, boolean> = {
  anonymous: false,
  "wrong token": false,
  "read token": true,
  "write token": true,
};

/** A concrete path for a route pattern: `::` is fastify's literal colon, `:name` a parameter. */
function concretePath(url: string): string {
  return url
    .replace(/::/g, "\uE000")
    .replace(/:id\b/g, "adv-1")
    .replace(/:file\b/g, "app.js")
    .replace(/\uE000/g, ":");
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const hex = (c: string, lower = false) => {
  const code = c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
  return `%${lower ? code.toLowerCase() : code}`;
};

interface Variant {
  readonly name: string;
  readonly path: string;
  /** Names the same resource as the plain path (RFC 3986 equivalent, or normalised by the router). */
  readonly same: boolean;
}

/**
 * Every spelling the review tried. Characters of a parameter value may be encoded any way (the router decodes
 * parameters); static characters double-encoded, an encoded `/` or `:` (reserved characters: not equivalent)
 * name another path.
 */
function variants(url: string): Variant[] {
  const plain = concretePath(url);
  // Which characters of `plain` come from a parameter (their position in the concrete path).
  const paramChars = new Set<number>();
  {
    let at = 0;
    for (const part of url.replace(/::/g, "\uE000").split("/")) {
      const value = concretePath(part.replace(/\uE000/g, "::"));
      if (part.startsWith(":")) for (let k = 0; k < value.length; k++) paramChars.add(at + k);
      at += value.length + 1;
    }
  }
  const chars = [...plain];
  const out: Variant[] = [{ name: "plain", path: plain, same: true }];
  const encodeAt = (i: number, how: (c: string) => string) =>
    chars.map((c, j) => (j === i ? how(c) : c)).join("");
  chars.forEach((c, i) => {
    if (c === "/") {
      if (i > 0) out.push({ name: `encoded / at ${i}`, path: encodeAt(i, (x) => hex(x)), same: false });
      return;
    }
    const same = UNRESERVED.test(c) || paramChars.has(i);
    out.push({ name: `encoded ${c} at ${i}`, path: encodeAt(i, (x) => hex(x)), same });
    if (!paramChars.has(i))
      out.push({
        name: `double-encoded ${c} at ${i}`,
        path: encodeAt(i, (x) => `%25${hex(x).slice(1)}`),
        same: false,
      });
  });
  const onlyUnreserved = chars.every((c, i) => c === "/" || UNRESERVED.test(c) || paramChars.has(i));
  out.push({
    name: "every character encoded, upper-case escapes",
    path: chars.map((c) => (c === "/" ? c : hex(c))).join(""),
    same: onlyUnreserved,
  });
  out.push({
    name: "every character encoded, mixed-case escapes",
    path: chars.map((c, i) => (c === "/" ? c : hex(c, i % 2 === 0))).join(""),
    same: onlyUnreserved,
  });
  out.push({ name: "trailing slash", path: plain.endsWith("/") ? plain : `${plain}/`, same: true });
  out.push({ name: "// prefix", path: `/${plain}`, same: true });
  out.push({ name: "; suffix", path: `${plain};jsessionid=1`, same: true });
  out.push({ name: "? suffix", path: `${plain}?`, same: true });
  return out;
}

/** A body that passes authentication and fails validation: no write ever happens, the status says who got in. */
function bodyFor(entry: RouteEntry): string | undefined {
  if (entry.method === "GET" || entry.method === "HEAD") return undefined;
  if (entry.url === "/v1/clicks") return "[]";
  if (entry.url === "/v1/serving::batch") return '{"ids":[]}';
  return '{"unexpected":true}';
}

async function statusOf(
  baseUrl: string,
  entry: RouteEntry,
  path: string,
  token: string | undefined,
): Promise<{ status: number; text: string; challenge: string | null }> {
  const body = bodyFor(entry);
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, {
    method: entry.method,
    headers,
    signal: controller.signal,
    ...(body === undefined ? {} : { body }),
  });
  // The change stream never ends: its status is all this test needs.
  const streaming = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const text = streaming || entry.method === "HEAD" ? "" : await response.text();
  controller.abort();
  return { status: response.status, text, challenge: response.headers.get("www-authenticate") };
}

describe("one authorization decision per route, whatever the spelling of the path", () => {
  let bench: ApiBench;
  let routes: readonly RouteEntry[];

  beforeAll(async () => {
    await buildDashboard();
    bench = await startApiBench("route-auth", {
      // The stream test opens and drops hundreds of streams: no per-caller cap in the way here.
      env: { API_MAX_STREAMS_PER_CALLER: "1000", API_WRITE_RATE_LIMIT_PER_MINUTE: "0" },
    });
    routes = bench.api.app.routeTable;
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("has a route table with a declared level for every route (HEAD included)", () => {
    expect(routes.length).toBeGreaterThan(40);
    const levels = Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.auth]));
    expect(levels["GET /v1/reports/spend/total"]).toBe("read");
    expect(levels["HEAD /v1/reports/spend/total"]).toBe("read");
    expect(levels["GET /v1/serving/changes"]).toBe("read");
    expect(levels["PUT /v1/advertisers/:id/budget"]).toBe("write");
    expect(levels["POST /v1/clicks"]).toBe("write");
    expect(levels["GET /healthz"]).toBe("public");
    expect(levels["GET /assets/:file"]).toBe("public");
    // Everything under /v1 needs a token; nothing outside it does.
    for (const route of routes) expect(route.url.startsWith("/v1/"), route.url).toBe(route.auth !== "public");
  });

  it("every route × every spelling × four callers: the plain form's status, or what an unknown path gets", async () => {
    const problems: string[] = [];
    let requests = 0;
    for (const entry of routes) {
      for (const [caller, token] of Object.entries(CALLERS) as [Caller, string | undefined][]) {
        const plain = await statusOf(bench.baseUrl, entry, concretePath(entry.url), token);
        requests++;
        for (const variant of variants(entry.url)) {
          const got = await statusOf(bench.baseUrl, entry, variant.path, token);
          requests++;
          const expected = variant.same ? plain.status : HAS_READ_ACCESS[caller] ? 404 : 401;
          if (got.status !== expected)
            problems.push(
              `${entry.method} ${variant.path} (${variant.name}) as ${caller}: ${got.status}, expected ${expected} (plain ${plain.status})`,
            );
          if (got.status === 401 && !/^Bearer\b/.test(got.challenge ?? ""))
            problems.push(
              `${entry.method} ${variant.path} as ${caller}: 401 without WWW-Authenticate: Bearer`,
            );
          if (got.status >= 400 && entry.method !== "HEAD" && !/^\{"error":\{"code":"/.test(got.text))
            problems.push(
              `${entry.method} ${variant.path} as ${caller}: ${got.status} not in the error shape`,
            );
        }
      }
    }
    console.log(`route × spelling × caller: ${requests} requests, ${problems.length} problems`);
    expect(problems.slice(0, 30)).toEqual([]);
    expect(requests).toBeGreaterThan(5_000);
  }, 300_000);

  it("the review's own examples are refused like the plain path", async () => {
    for (const path of [
      "/v1/reports/spend/total",
      "/%761/reports/spend/total",
      "/%76%31/reports/spend/total",
      "/v%31/reports/spend/total",
      "/V1/reports/spend/total",
      "/v1/budget/../reports/spend/total",
    ]) {
      const anonymous = await call(bench.baseUrl, "GET", path);
      expect([401], path).toContain(anonymous.status);
      expect(anonymous.headers.get("www-authenticate"), path).toMatch(/^Bearer realm="adpipe"/);
    }
    expect(
      (await call(bench.baseUrl, "GET", "/%761/reports/spend/total", { token: READ_TOKEN })).status,
    ).toBe(200);
  });
});

describe("secure by default: reads need a token unless API_PUBLIC_READS opens them", () => {
  let bench: ApiBench;
  beforeAll(async () => {
    bench = await startApiBench("secure-default", { env: { API_READ_TOKENS: "" } });
  });
  afterAll(async () => {
    await bench?.close();
  });

  it("with no read token configured, reads need a write token", async () => {
    const path = "/v1/advertisers/adv-1/serving";
    const anonymous = await call(bench.baseUrl, "GET", path);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="adpipe"');
    const wrong = await call(bench.baseUrl, "GET", path, { token: "nope-nope-nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="adpipe", error="invalid_token"');
    expect((await call(bench.baseUrl, "GET", path, { token: WRITE_TOKEN })).status).toBe(200);
    expect((await call(bench.baseUrl, "GET", "/v1/reports/spend/total")).status).toBe(401);
    expect((await call(bench.baseUrl, "GET", "/dashboard/config.json")).body).toMatchObject({
      read_token_required: true,
    });
  });

  it("API_PUBLIC_READS=true opens reads (and only reads)", async () => {
    const open = await startApiBench("public-reads", {
      env: { API_PUBLIC_READS: "true", API_READ_TOKENS: "" },
      reuse: { db: bench.db, topic: bench.topic, prefix: bench.prefix },
    });
    try {
      expect((await call(open.baseUrl, "GET", "/v1/advertisers/adv-1/serving")).status).toBe(200);
      expect((await call(open.baseUrl, "GET", "/v1/reports/spend/total")).status).toBe(200);
      const write = await call(open.baseUrl, "PUT", "/v1/advertisers/adv-1/budget", {
        body: { amount: "1" },
      });
      expect(write.status).toBe(401);
      expect((await call(open.baseUrl, "GET", "/dashboard/config.json")).body).toMatchObject({
        read_token_required: false,
      });
    } finally {
      await open.close();
    }
  });
});
