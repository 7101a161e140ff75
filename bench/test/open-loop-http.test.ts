import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openLoopHttpRun } from "../lib/open-loop-http.js";

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A local server answering 200, or 503 for paths ending in /fail, each answer held until `heldUntil()`. */
async function serve(heldUntil: () => number): Promise<string> {
  const server = createServer((req, res) => {
    const answer = () => {
      res.statusCode = req.url?.endsWith("/fail") ? 503 : 200;
      res.end("{}");
    };
    const wait = heldUntil() - performance.now();
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("openLoopHttpRun", () => {
  it("charges a stall to every request due during it, from the instant each was due", async () => {
    // The server holds every answer until 300 ms after the run starts, then answers at once.
    let releaseAt = Number.POSITIVE_INFINITY;
    const url = await serve(() => releaseAt);
    const run = openLoopHttpRun({
      url,
      headers: {},
      pathOf: () => "/ok",
      rate: 500,
      seconds: 1,
      connections: 4,
    });
    releaseAt = performance.now() + 300;
    const result = await run;
    expect(result.total).toBe(500);
    expect(result.errors + result.non2xx).toBe(0);
    expect(result.latencyMs.count).toBe(500);
    // The first request waited the whole stall although only 4 connections were open: a closed-loop client would
    // have sent the requests behind it late and measured them from then.
    expect(result.latencyMs.max).toBeGreaterThanOrEqual(250);
    // About 150 of the 500 requests were due during the stall: well over 1 % waited 100 ms or more.
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(100);
  });

  it("counts answers other than 2xx apart from the latencies", async () => {
    const url = await serve(() => 0);
    const result = await openLoopHttpRun({
      url,
      headers: {},
      pathOf: (i) => (i % 2 === 0 ? "/ok" : "/fail"),
      rate: 400,
      seconds: 0.5,
      connections: 8,
    });
    expect(result.total).toBe(200);
    expect(result.non2xx).toBe(100);
    expect(result.latencyMs.count).toBe(100);
  });

  it("refuses a rate or a duration that is not positive", () => {
    const options = { url: "http://127.0.0.1:1", headers: {}, pathOf: () => "/", connections: 1 };
    expect(() => openLoopHttpRun({ ...options, rate: 0, seconds: 1 })).toThrow(/must be positive/);
    expect(() => openLoopHttpRun({ ...options, rate: 10, seconds: -1 })).toThrow(/must be positive/);
  });
});
