import { ConfigError } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { loadAlerterConfig } from "../src/config.js";

const SECRET = "whsec-0123456789abcdef";

function problemsOf(env: Record<string, string>): string {
  try {
    loadAlerterConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("alerter configuration", () => {
  it("defaults: the ad-budget-alerts topic, 50/80/100 %, no webhooks", () => {
    const config = loadAlerterConfig({});
    expect(config).toMatchObject({
      ALERT_TOPIC: "ad-budget-alerts",
      ALERT_THRESHOLDS_PCT: [50, 80, 100],
      ALERT_MAX_ATTEMPTS: 12,
      OPS_PORT: 9104,
    });
    expect(config.ALERT_WEBHOOK_URLS).toBeUndefined();
    expect(config.kafka?.brokers.length).toBeGreaterThan(0);
  });

  it("reads the tracker's Redis only with ALERT_PACING_REDIS=true (ahead_of_pace alerts)", () => {
    expect(loadAlerterConfig({}).redis).toBeNull();
    const config = loadAlerterConfig({
      ALERT_PACING_REDIS: "true",
      REDIS_URL: "redis://127.0.0.1:6390",
      REDIS_KEY_PREFIX: "t1:",
    });
    expect(config.redis).toEqual({ mode: "standalone", url: "redis://127.0.0.1:6390" });
    expect(config.REDIS_KEY_PREFIX).toBe("t1:");
    expect(problemsOf({ ALERT_PACING_REDIS: "true", REDIS_KEY_PREFIX: "bad prefix" })).toContain(
      "REDIS_KEY_PREFIX",
    );
  });

  it("reads webhooks with their secret, thresholds sorted, and no Kafka with ALERT_KAFKA=false", () => {
    const config = loadAlerterConfig({
      ALERT_WEBHOOK_URLS: "https://hooks.example.com/a, http://127.0.0.1:9000/b",
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_THRESHOLDS_PCT: "90, 25",
      ALERT_KAFKA: "false",
    });
    expect(config.ALERT_WEBHOOK_URLS).toEqual(["https://hooks.example.com/a", "http://127.0.0.1:9000/b"]);
    expect(config.ALERT_THRESHOLDS_PCT).toEqual([90, 25]);
    expect(config.kafka).toBeNull();
  });

  it("refuses webhooks without a secret, a short secret, bad URLs and bad thresholds, naming the variable only", () => {
    expect(problemsOf({ ALERT_WEBHOOK_URLS: "https://hooks.example.com/a" })).toContain(
      "ALERT_WEBHOOK_SECRET",
    );
    const short = problemsOf({
      ALERT_WEBHOOK_URLS: "https://x.example.com",
      ALERT_WEBHOOK_SECRET: "tiny-secret",
    });
    expect(short).toContain("ALERT_WEBHOOK_SECRET");
    expect(short).not.toContain("tiny-secret");
    expect(problemsOf({ ALERT_WEBHOOK_URLS: "ftp://x.example.com", ALERT_WEBHOOK_SECRET: SECRET })).toContain(
      "ALERT_WEBHOOK_URLS",
    );
    for (const bad of ["0", "50,50", "abc", "1001", "12.5"])
      expect(problemsOf({ ALERT_THRESHOLDS_PCT: bad }), bad).toContain("ALERT_THRESHOLDS_PCT");
    expect(problemsOf({ ALERT_RETRY_INITIAL_MS: "5000", ALERT_RETRY_MAX_MS: "1000" })).toContain(
      "ALERT_RETRY_MAX_MS",
    );
    expect(problemsOf({ ALERT_TOPIC: "bad topic!" })).toContain("ALERT_TOPIC");
  });
});
