import { createMetricsRegistry, type Logger } from "@adpipe/telemetry";
import fc from "fast-check";
import type { Admin } from "kafkajs";
import { describe, expect, it } from "vitest";
import { TrackerMetrics } from "../src/metrics.js";
import {
  ReservationExpiry,
  SWEEP_FAILURES_BEFORE_ALERT,
  sweepFailureLevel,
} from "../src/reservation-expiry.js";

describe("sweepFailureLevel", () => {
  it("stays quiet below the threshold, alerts at it and every threshold failures after", () => {
    const levels = Array.from({ length: 12 }, (_, i) => sweepFailureLevel(i + 1, 5));
    expect(levels).toEqual([
      "quiet",
      "quiet",
      "quiet",
      "quiet",
      "loud",
      "quiet",
      "quiet",
      "quiet",
      "quiet",
      "loud",
      "quiet",
      "quiet",
    ]);
  });

  it("never alerts on fewer failures than the threshold; any run of threshold failures alerts once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 1_000 }), (threshold, start) => {
        for (let n = 1; n < threshold; n++) expect(sweepFailureLevel(n, threshold)).toBe("quiet");
        const window = Array.from({ length: threshold }, (_, i) =>
          sweepFailureLevel(start + threshold + i, threshold),
        );
        expect(window.filter((level) => level === "loud")).toHaveLength(1);
      }),
    );
  });
});

interface Line {
  level: keyof Logger;
  message: string | undefined;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: keyof Logger) =>
    (_fields: object, message?: string): void => {
      lines.push({ level, message });
    };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

/** A Kafka whose admin client cannot connect while `down` says so (the sweep's first I/O). */
function kafkaDownWhile(down: () => boolean): { admin(): Admin } {
  const admin = {
    connect: async () => {
      if (down()) throw new Error("connect ECONNREFUSED 127.0.0.1:1");
    },
    disconnect: async () => undefined,
    fetchTopicOffsets: async () => [{ partition: 0, offset: "0", high: "0", low: "0" }],
  };
  // Only what TopicLogReader calls is implemented.
  return { admin: () => admin as unknown as Admin };
}

describe("ReservationExpiry.turn", () => {
  it("counts failures quietly, alerts after a run of them, and resets once a sweep succeeds", async () => {
    let down = true;
    const { logger, lines } = capture();
    const registry = createMetricsRegistry("expiry-test");
    const expiry = new ReservationExpiry({
      kafka: kafkaDownWhile(() => down),
      topic: "t",
      store: {
        readMeta: async () => null,
        expireReservations: async () => ({ expired: 0, advertisers: 0, releasedMicros: 0 }),
      },
      logger,
      metrics: new TrackerMetrics(registry),
      busy: () => false,
    });
    const consecutive = async () =>
      (await registry.getSingleMetric("budget_tracker_reservation_sweep_consecutive_failures")?.get())
        ?.values[0]?.value;

    for (let i = 1; i < SWEEP_FAILURES_BEFORE_ALERT; i++) await expiry.turn();
    expect(lines.map((line) => line.level)).toEqual(Array(SWEEP_FAILURES_BEFORE_ALERT - 1).fill("debug"));
    await expiry.turn();
    expect(lines.at(-1)?.level).toBe("error");
    expect(await consecutive()).toBe(SWEEP_FAILURES_BEFORE_ALERT);

    down = false;
    await expiry.turn();
    expect(lines.at(-1)).toEqual({ level: "info", message: "reservation sweep works again" });
    expect(await consecutive()).toBe(0);
    await expiry.close();
    await expiry.turn();
    expect(lines).toHaveLength(SWEEP_FAILURES_BEFORE_ALERT + 1);
  });
});

describe("ReservationExpiry.close", () => {
  it("waits for the sweep in flight before disconnecting the admin client, and overlapping turns share it", async () => {
    const events: string[] = [];
    let answer = (): void => undefined;
    const admin = {
      connect: async () => undefined,
      disconnect: async () => {
        events.push("disconnect");
      },
      fetchTopicOffsets: () => {
        events.push("fetch");
        return new Promise((resolve) => {
          answer = () => {
            events.push("answer");
            resolve([{ partition: 0, offset: "0", high: "0", low: "0" }]);
          };
        });
      },
    };
    const { logger, lines } = capture();
    const expiry = new ReservationExpiry({
      kafka: { admin: () => admin as unknown as Admin },
      topic: "t",
      store: {
        readMeta: async () => null,
        expireReservations: async () => ({ expired: 0, advertisers: 0, releasedMicros: 0 }),
      },
      logger,
      metrics: new TrackerMetrics(createMetricsRegistry("expiry-close-test")),
      busy: () => false,
    });
    const first = expiry.turn();
    const second = expiry.turn();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const closed = expiry.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(events).toEqual(["fetch"]);
    answer();
    await Promise.all([first, second, closed]);
    expect(events).toEqual(["fetch", "answer", "disconnect"]);
    expect(lines).toEqual([]);
  });
});
