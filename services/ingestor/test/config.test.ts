import { ConfigError } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { loadIngestorConfig } from "../src/config.js";

describe("ingestor configuration", () => {
  it("has working defaults and passes the rules to the writer", () => {
    const config = loadIngestorConfig({
      KAFKA_TOPIC: "clicks",
      EVENT_MAX_AMOUNT: "250.5",
      BUDGET_PERIOD: "month",
    });
    expect(config.kafka.topic).toBe("clicks");
    expect(config.env.INGESTOR_GROUP_ID).toBe("adpipe-ingestor");
    expect(config.env.MIGRATE_ON_START).toBe(true);
    expect(config.rules).toMatchObject({
      budgetPeriod: "month",
      timeZone: "UTC",
      parseLimits: { maxAmountMicros: 250_500_000 },
    });
  });

  it("names every bad variable without echoing secrets", () => {
    let error: unknown;
    try {
      loadIngestorConfig({
        DATABASE_URL: "mysql://u:secret@h/db",
        INGESTOR_MAX_BATCH_RECORDS: "0",
        BUDGET_TIME_ZONE: "Mars/Base",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toEqual(
      expect.arrayContaining(["DATABASE_URL", "INGESTOR_MAX_BATCH_RECORDS", "BUDGET_TIME_ZONE"]),
    );
    expect((error as Error).message).not.toContain("secret");
  });
});
