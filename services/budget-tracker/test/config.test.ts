import { ConfigError } from "@adpipe/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetClockOf, keyspaceScanReuseMs, loadTrackerConfig, scaledClockAt } from "../src/config.js";

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
      TRACKER_MAX_BYTES_PER_PARTITION: 4 * 1_048_576,
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

  it("bounds the fetch size per partition", () => {
    expect(
      loadTrackerConfig({ TRACKER_MAX_BYTES_PER_PARTITION: "65536" }).env.TRACKER_MAX_BYTES_PER_PARTITION,
    ).toBe(65_536);
    expect(() => loadTrackerConfig({ TRACKER_MAX_BYTES_PER_PARTITION: "512" })).toThrow(ConfigError);
    expect(() => loadTrackerConfig({ TRACKER_MAX_BYTES_PER_PARTITION: "1e9" })).toThrow(ConfigError);
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

  it("refuses a scaled budget clock unless explicitly enabled as test only, and reads it when enabled", () => {
    for (const env of [
      { BUDGET_CLOCK_SCALE: "144" },
      { BUDGET_CLOCK_ORIGIN_MS: "0" },
      { BUDGET_CLOCK_STOP_MS: "5" },
    ]) {
      expect(() => loadTrackerConfig(env)).toThrow(/BUDGET_CLOCK_TEST_ONLY/);
    }
    expect(budgetClockOf(loadTrackerConfig({}).env)).toBeNull();
    const config = loadTrackerConfig({
      BUDGET_CLOCK_SCALE: "144",
      BUDGET_CLOCK_ORIGIN_MS: "1000000",
      BUDGET_CLOCK_ANCHOR_MS: "500",
      BUDGET_CLOCK_STOP_MS: "2000000",
      BUDGET_CLOCK_TEST_ONLY: "true",
    });
    const clock = budgetClockOf(config.env);
    expect(clock).not.toBeNull();
    if (clock === null) return;
    expect(scaledClockAt(clock, 500)).toBe(1_000_000);
    expect(scaledClockAt(clock, 1_500)).toBe(1_144_000);
    expect(scaledClockAt(clock, 1_000_000)).toBe(2_000_000);
  });
});

describe("keyspaceScanReuseMs", () => {
  it("is 1 s at the defaults (the reservation sweep's interval)", () => {
    expect(keyspaceScanReuseMs(loadTrackerConfig({}).env)).toBe(1_000);
    expect(keyspaceScanReuseMs(loadTrackerConfig({ KEYSPACE_SCAN_REUSE_MS: "5000" }).env)).toBe(5_000);
  });

  it("unset, is the shortest interval of the jobs that are on; 0 when all are off (property)", () => {
    const interval = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3_600_000 }));
    fc.assert(
      fc.property(interval, interval, interval, interval, (pacing, forecast, reservations, shape) => {
        const reuse = keyspaceScanReuseMs({
          KEYSPACE_SCAN_REUSE_MS: undefined,
          PACING_CHECK_INTERVAL_MS: pacing,
          FORECAST_REFRESH_INTERVAL_MS: forecast,
          RESERVATION_SWEEP_INTERVAL_MS: reservations,
          PACING_SHAPE_REFRESH_INTERVAL_MS: shape,
        });
        const on = [pacing, forecast, reservations, shape].filter((ms) => ms > 0);
        if (on.length === 0) expect(reuse).toBe(0);
        else {
          // No job ever works from a listing older than one of its own turns.
          for (const ms of on) expect(reuse).toBeLessThanOrEqual(ms);
          expect(on).toContain(reuse);
        }
      }),
    );
  });
});
