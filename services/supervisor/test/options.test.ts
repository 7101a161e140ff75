import { describe, expect, test } from "vitest";
import { SupervisorError } from "../src/errors.js";
import { parseSupervisorOptions, type RawSupervisorOptions, supervisorCommand } from "../src/options.js";

function parseArgs(args: string[]) {
  const command = supervisorCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  command.parse(args, { from: "user" });
  return parseSupervisorOptions(command.opts<RawSupervisorOptions>());
}

describe("supervisor options", () => {
  test("defaults: 4 partitions, a gentle 20 events/s simulator, API on 8080, ops ports from 9101", () => {
    expect(parseArgs([])).toMatchObject({
      headless: false,
      durationMs: undefined,
      partitions: 4,
      simulator: true,
      rate: 20,
      simAdvertisers: 20,
      apiPort: 8080,
      opsPortBase: 9101,
      groupPrefix: "adpipe",
      mode: "auto",
      startBroker: true,
      readyTimeoutMs: 90_000,
      logFormat: "pretty",
    });
  });

  test("headless test runs: duration, simulator count/seed/manifest, own topic, groups, prefix and ports", () => {
    const options = parseArgs([
      "--headless",
      "--duration",
      "2.5",
      "--topic",
      "t-1",
      "--partitions",
      "3",
      "--rate",
      "500",
      "--sim-count",
      "1500",
      "--sim-seed",
      "7",
      "--sim-manifest",
      "/tmp/m.json",
      "--group-prefix",
      "g",
      "--redis-prefix",
      "test:x:",
      "--api-port",
      "18080",
      "--ops-port-base",
      "19101",
      "--mode",
      "source",
      "--no-start-broker",
      "--no-simulator",
      "--log-format",
      "raw",
    ]);
    expect(options).toMatchObject({
      headless: true,
      durationMs: 2_500,
      topic: "t-1",
      partitions: 3,
      rate: 500,
      simCount: 1_500,
      simSeed: 7,
      simManifest: "/tmp/m.json",
      groupPrefix: "g",
      redisPrefix: "test:x:",
      apiPort: 18_080,
      opsPortBase: 19_101,
      mode: "source",
      startBroker: false,
      simulator: false,
      logFormat: "raw",
    });
  });

  test.each([
    [["--partitions", "0"], /--partitions/],
    [["--rate", "fast"], /--rate/],
    [["--api-port", "70000"], /--api-port/],
    [["--topic", "a topic"], /--topic/],
    [["--duration", "-3"], /--duration/],
  ])("rejects %j", (args, message) => {
    expect(() => parseArgs(args)).toThrow(SupervisorError);
    expect(() => parseArgs(args)).toThrow(message);
  });
});
