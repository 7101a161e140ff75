import { describe, expect, test } from "vitest";
import { parseSupervisorOptions, supervisorCommand } from "../src/options.js";
import { dashboardLoginUrl, describeState, type PipelineState } from "../src/pipeline.js";

const state: PipelineState = {
  supervisorPid: 1,
  dashboardUrl: "http://127.0.0.1:8080/",
  topic: "ad-clicks",
  partitions: 4,
  kafka: "127.0.0.1:9092",
  database: "postgres://postgres@127.0.0.1:5432/test",
  redis: "redis://127.0.0.1:6379",
  groups: { ingestor: "g-ingestor", tracker: "g-tracker" },
  redisPrefix: undefined,
  brokerStartedHere: false,
  infrastructureStartedHere: [],
  children: [],
  writeToken: "local-w",
  readToken: "local-read-r",
};

const options = parseSupervisorOptions(supervisorCommand().exitOverride().parse([], { from: "user" }).opts());

describe("the banner of npm start", () => {
  test("prints the read and the write token, and a dashboard URL that logs the browser in", () => {
    const banner = describeState(state, options);
    expect(banner).toContain(
      "Dashboard      http://127.0.0.1:8080/#token=local-read-r   (logs this browser in)",
    );
    expect(banner).toContain("Read token     local-read-r");
    expect(banner).toContain("Write token    local-w");
  });

  test("without a generated read token (API_READ_TOKENS or API_PUBLIC_READS set) the plain URL", () => {
    expect(dashboardLoginUrl({ ...state, readToken: undefined })).toBe("http://127.0.0.1:8080/");
    expect(describeState({ ...state, readToken: undefined }, options)).not.toContain("Read token");
    // The fragment is URL-encoded: a token with odd characters survives the trip.
    expect(dashboardLoginUrl({ ...state, readToken: "a&b=c" })).toBe(
      "http://127.0.0.1:8080/#token=a%26b%3Dc",
    );
  });
});
