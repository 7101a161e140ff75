import { Agent, request } from "node:http";
import { type LatencySummary, latencySummary, SampleBuffer } from "./stats.js";

/**
 * An open-loop HTTP load: requests are due at evenly spaced instants (`rate` per second) whatever the server's
 * answers, and each latency is measured from the instant its request was due, not from when a free connection
 * let it go out: a server that stalls is charged for every request that waited (no coordinated omission).
 *
 * autocannon's `overallRate` is a closed loop per connection: each of its connections sends back to back until
 * it has made its share of the second, then waits for the next second, so "5,000 req/s over 50 connections" is
 * 50 requests in flight at full speed for part of each second. That measures a burst, not a rate.
 */
export interface OpenLoopOptions {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The path of the i-th request. */
  readonly pathOf: (i: number) => string;
  readonly rate: number;
  readonly seconds: number;
  /** Keep-alive connections the requests share (a request waits for a free one). */
  readonly connections: number;
  /** How late (ms) a request may answer before it counts as an error; default 10 s. */
  readonly timeoutMs?: number;
}

export interface OpenLoopResult {
  /** Requests answered per second of the run. */
  readonly requestsPerSecond: number;
  /** Answered requests, ms from due to answered. */
  readonly latencyMs: LatencySummary;
  readonly total: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Due requests are released every TICK_MS (a timer's resolution); each keeps its own due instant. */
const TICK_MS = 1;

export function openLoopHttpRun(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds } = options;
  if (!(rate > 0) || !(seconds > 0)) throw new Error(`rate ${rate} and seconds ${seconds} must be positive`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const intervalMs = 1_000 / rate;
  const planned = Math.round(rate * seconds);
  const latencies = new SampleBuffer();
  let sent = 0;
  let settled = 0;
  let errors = 0;
  let non2xx = 0;
  const startedAt = performance.now();

  return new Promise<OpenLoopResult>((resolve) => {
    const finish = () => {
      clearInterval(timer);
      agent.destroy();
      const values = latencies.valuesBetween(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
      const elapsedS = (performance.now() - startedAt) / 1_000;
      resolve({
        requestsPerSecond: values.length / Math.max(elapsedS, seconds),
        latencyMs: latencySummary(values),
        total: settled,
        errors,
        non2xx,
      });
    };
    const settle = () => {
      settled += 1;
      if (settled === planned) finish();
    };
    const fire = (dueAt: number, i: number) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: options.pathOf(i),
          method: "GET",
          headers: options.headers,
          agent,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const now = performance.now();
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300)
              latencies.push(now, now - dueAt);
            else non2xx += 1;
            settle();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", () => {
        errors += 1;
        settle();
      });
      req.end();
    };
    const timer = setInterval(() => {
      const due = Math.min(planned, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
      for (; sent < due; sent++) fire(startedAt + sent * intervalMs, sent);
    }, TICK_MS);
  });
}
