import { DEFAULT_GENERATOR_SHARES } from "@adpipe/core";
import { Command } from "commander";
import { describe, expect, test } from "vitest";
import { SimulatorError } from "../src/errors.js";
import {
  addSimulatorOptions,
  parseDuration,
  parseSimulatorOptions,
  parseStart,
  parseUnits,
  type RawSimulatorOptions,
} from "../src/options.js";

/** Parses argv the way the CLI does: commander first, then validation. */
function parseArgs(args: string[], now = 1_700_000_000_000) {
  const command = addSimulatorOptions(new Command("simulate"))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  command.parse(args, { from: "user" });
  return parseSimulatorOptions(command.opts<RawSimulatorOptions>(), now);
}

describe("parseSimulatorOptions", () => {
  test("defaults: 100 events/s, endless, core generator's shares, one send in flight", () => {
    const options = parseArgs([]);
    expect(options).toMatchObject({
      rate: 100,
      max: false,
      count: undefined,
      durationMs: undefined,
      advertisers: 20,
      zipf: 1.1,
      amountMicros: { min: 50_000, max: 2_000_000 },
      budgetMicros: { min: 20_000_000, max: 2_000_000_000 },
      transport: "kafka",
      acks: "all",
      compression: "none",
      concurrency: 1,
      generatorThread: false,
      initialBudgets: true,
      budgetChannel: "clicks",
      progress: "auto",
    });
    expect(options.shares).toEqual({ ...DEFAULT_GENERATOR_SHARES });
  });

  test("--budget-channel: clicks (the seed's web app) by default, events on request; operator budgets", () => {
    expect(parseArgs(["--budget-channel", "events"]).budgetChannel).toBe("events");
    expect(() => parseArgs(["--budget-channel", "smoke-signals"])).toThrow();
    expect(parseArgs(["--operator-budgets", "0.01"]).shares.operatorBudget).toBe(0.01);
    expect(() => parseArgs(["--operator-budgets", "0.6", "--duplicates", "0.5"])).toThrow(/operator budgets/);
  });

  test("--max drops the rate, raises concurrency and moves generation to a thread", () => {
    const options = parseArgs(["--max", "--count", "1000000"]);
    expect(options).toMatchObject({
      rate: undefined,
      max: true,
      count: 1_000_000,
      concurrency: 4,
      generatorThread: true,
    });
    expect(parseArgs(["--max", "--no-generator-thread", "--concurrency", "2"])).toMatchObject({
      concurrency: 2,
      generatorThread: false,
    });
  });

  test("--producer: auto by default, native or kafkajs on request", () => {
    expect(parseArgs([]).producer).toBe("auto");
    expect(parseArgs(["--max", "--producer", "native"]).producer).toBe("native");
    expect(parseArgs(["--producer", "kafkajs"]).producer).toBe("kafkajs");
    expect(() => parseArgs(["--producer", "native", "--compression", "gzip"])).toThrow(
      /uncompressed batches only/,
    );
    expect(() => parseArgs(["--producer", "native", "--transport", "event-hubs-sdk"])).toThrow(
      /--transport kafka only/,
    );
  });

  test("shares, money and durations are parsed exactly", () => {
    const options = parseArgs([
      "--duplicates",
      "0.1",
      "--malformed",
      "0",
      "--late",
      "0.02",
      "--budget-updates",
      "0.05",
      "--amount-min",
      "0.10",
      "--amount-max",
      "3.333333",
      "--budget-min",
      "0.3",
      "--budget-max",
      "1e3".replace("1e3", "1000"),
      "--duration",
      "1.5m",
      "--rate",
      "12.5",
      "--seed",
      "42",
      "--start",
      "2026-11-25T21:00:00Z",
    ]);
    expect(options.shares).toMatchObject({ duplicate: 0.1, malformed: 0, late: 0.02, budgetUpdate: 0.05 });
    expect(options.amountMicros).toEqual({ min: 100_000, max: 3_333_333 });
    expect(options.budgetMicros).toEqual({ min: 300_000, max: 1_000_000_000 });
    expect(options.durationMs).toBe(90_000);
    expect(options.rate).toBe(12.5);
    expect(options.seed).toBe(42);
    expect(options.startMs).toBe(Date.UTC(2026, 10, 25, 21));
  });

  test("without --seed the seed and run id come from the clock, and are stable for the same clock", () => {
    const a = parseArgs([], 1_700_000_000_123);
    const b = parseArgs([], 1_700_000_000_123);
    expect(a.seed).toBe(b.seed);
    expect(a.runId).toBe(b.runId);
    expect(parseArgs([], 1_700_000_000_124).runId).not.toBe(a.runId);
    expect(parseArgs(["--seed", "7", "--run-id", "demo"]).runId).toBe("demo");
  });

  test.each([
    [["--rate", "0"], /--rate/],
    [["--rate", "fast"], /--rate: expected a number/],
    [["--count", "-5"], /--count/],
    [["--duration", "soon"], /--duration: expected a duration/],
    [["--duplicates", "1.5"], /--duplicates/],
    [["--duplicates", "0.6", "--invalid", "0.5"], /add up to 1.1/],
    [["--amount-min", "5", "--amount-max", "1"], /--amount-min is above --amount-max/],
    [["--amount-min", "0"], /--amount-min must be positive/],
    [["--batch-bytes", "2000000"], /--batch-bytes/],
    [["--run-id", "has space"], /--run-id/],
    [
      ["--transport", "event-hubs-sdk", "--compression", "gzip"],
      /--compression applies to the Kafka transport only/,
    ],
    [["--transport", "event-hubs-sdk", "--partitions", "4"], /--partitions applies to plain Kafka only/],
  ])("rejects %j", (args, message) => {
    let error: unknown;
    try {
      parseArgs(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SimulatorError);
    expect((error as SimulatorError).code).toBe("ADP_TRAFFIC_INVALID_OPTIONS");
    expect((error as Error).message).toMatch(message);
  });

  test("commander itself refuses --rate with --max and unknown choices", () => {
    expect(() => parseArgs(["--rate", "5", "--max"])).toThrow(/cannot be used with/);
    expect(() => parseArgs(["--acks", "most"])).toThrow(/Allowed choices/);
  });
});

describe("value parsers", () => {
  test("parseDuration takes ms, s, m, h and bare seconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30")).toBe(30_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(() => parseDuration("0s")).toThrow(/positive/);
    expect(() => parseDuration("-1s")).toThrow(/duration/);
  });

  test("parseStart takes ISO-8601 and epoch ms", () => {
    expect(parseStart("1700000000000")).toBe(1_700_000_000_000);
    expect(parseStart("2026-01-01T00:00:00.250Z")).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
    expect(() => parseStart("tomorrow")).toThrow(/ISO-8601/);
  });

  test("parseUnits converts decimals to exact micros", () => {
    expect(parseUnits("0.1")).toBe(100_000);
    expect(parseUnits("1000")).toBe(1_000_000_000);
    expect(() => parseUnits("ten")).toThrow(/decimal/);
  });
});
