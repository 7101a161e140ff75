import { ConfigError } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { loadTrackerConfig } from "../src/config.js";

describe("loadTrackerConfig", () => {
  it("has defaults for everything but needs no Postgres", () => {
    const config = loadTrackerConfig({});
    expect(config.env).toMatchObject({
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: "adspend:",
      TRACKER_GROUP_ID: "adpipe-budget-tracker",
      BUDGET_PERIOD: "day",
      DEDUP_HORIZON_MS: 3_600_000,
      REBUILD_SOURCE: "warehouse",
      OPS_PORT: 9102,
    });
    expect(config.env.DATABASE_URL).toBeUndefined();
    expect(config.kafka.topic).toBe("ad-clicks");
    expect(config.parseOptions).toEqual({
      maxFutureSkewMs: 300_000,
      latenessHorizonMs: 7 * 86_400_000,
      maxAmountMicros: 1_000_000_000,
      maxPayloadBytes: 65_536,
    });
  });

  it("reads the period, the amount limit in currency units and the intervals", () => {
    const config = loadTrackerConfig({
      BUDGET_PERIOD: "hour",
      EVENT_MAX_AMOUNT: "2.5",
      ROLLOVER_CHECK_INTERVAL_MS: "0",
      KAFKA_TOPIC: "clicks",
      DATABASE_URL: "postgres://u:secret@db:5432/adpipe",
    });
    expect(config.env.BUDGET_PERIOD).toBe("hour");
    expect(config.parseOptions.maxAmountMicros).toBe(2_500_000);
    expect(config.env.ROLLOVER_CHECK_INTERVAL_MS).toBe(0);
    expect(config.kafka.topic).toBe("clicks");
  });

  it("names every bad variable and never echoes a value", () => {
    try {
      loadTrackerConfig({
        BUDGET_PERIOD: "week",
        REDIS_KEY_PREFIX: "bad prefix{",
        DATABASE_URL: "mysql://secret@x",
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/BUDGET_PERIOD/);
      expect(message).toMatch(/REDIS_KEY_PREFIX/);
      expect(message).toMatch(/DATABASE_URL/);
      expect(message).not.toMatch(/secret/);
    }
  });
});
