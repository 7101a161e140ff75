/**
 * kafkajs's request queue as patched by patches/kafkajs+2.2.4.patch (applied by patch-package on install):
 * no timer while nothing is pending, never a negative delay, and queued requests still go out when a
 * client-side throttle ends or an in-flight slot frees up. The unpatched queue fails the first two tests.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** What the queue reads of a connection's request entry (the connection resolves the request's promise). */
interface RequestEntry {
  correlationId: number;
  resolve(response: unknown): void;
  reject(error: unknown): void;
}

interface RequestQueue {
  throttleCheckTimeoutId: unknown;
  push(request: { entry: RequestEntry; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  checkPendingRequests(): void;
  maybeThrottle(clientSideThrottleTimeMs: number): void;
  destroy(): void;
}

const require = createRequire(import.meta.url);
const RequestQueueClass = require("kafkajs/src/network/requestQueue/index.js") as new (options: {
  maxInFlightRequests: number | null;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: { debug(): void; warn(): void };
}) => RequestQueue;

const quietLogger = { debug: () => undefined, warn: () => undefined };

function newQueue(maxInFlightRequests: number | null = null): RequestQueue {
  return new RequestQueueClass({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "request-queue-test",
    broker: "127.0.0.1:9092",
    logger: quietLogger,
  });
}

/** Pushes a request that records its correlation id when the queue sends it. */
function pushRequest(queue: RequestQueue, correlationId: number, sent: number[]): void {
  const entry = { correlationId, resolve: () => undefined, reject: () => undefined };
  queue.push({ entry, expectResponse: true, sendRequest: () => sent.push(correlationId) });
}

describe("kafkajs RequestQueue (patched)", () => {
  let timerDelays: number[];
  beforeEach(() => {
    vi.useFakeTimers();
    timerDelays = [];
    const fakeSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((callback: () => void, delay?: number) => {
      timerDelays.push(delay ?? 0);
      return fakeSetTimeout(callback, delay);
    }) as typeof setTimeout);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("arms no timer while nothing is pending", () => {
    const queue = newQueue();
    const sent: number[] = [];
    pushRequest(queue, 1, sent);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    queue.checkPendingRequests();
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([1]);
    expect(timerDelays).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never schedules a negative delay, and sends what a throttle held back once it ends", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 4 }), (throttleMs, count) => {
        timerDelays.length = 0;
        const queue = newQueue();
        const sent: number[] = [];
        queue.maybeThrottle(throttleMs);
        for (let id = 1; id <= count; id++) pushRequest(queue, id, sent);
        vi.advanceTimersByTime(throttleMs + 20);
        expect(sent).toEqual(Array.from({ length: count }, (_, index) => index + 1));
        for (const delay of timerDelays) expect(delay).toBeGreaterThan(0);
        expect(vi.getTimerCount()).toBe(0);
        queue.destroy();
      }),
    );
  });

  it("sends a request queued behind the in-flight limit when a slot frees up", () => {
    const queue = newQueue(1);
    const sent: number[] = [];
    pushRequest(queue, 1, sent);
    pushRequest(queue, 2, sent);
    expect(sent).toEqual([1]);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1, 2]);
    queue.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    vi.advanceTimersByTime(1_000);
    expect(vi.getTimerCount()).toBe(0);
    queue.destroy();
  });
});
