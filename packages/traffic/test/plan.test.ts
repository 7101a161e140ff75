import { generateStream } from "@adpipe/core";
import { describe, expect, test } from "vitest";
import { parseSimulatorOptions } from "../src/options.js";
import { generatorOptionsFor, replayManifest, type SimulationManifest } from "../src/plan.js";

describe("generatorOptionsFor", () => {
  test("record timestamps advance at the target rate from the start", () => {
    const options = parseSimulatorOptions({ rate: "20", count: "100", seed: "5", runId: "r" }, 0);
    const generator = generatorOptionsFor(options, 1_000_000);
    expect(generator).toMatchObject({
      seed: 5,
      events: 100,
      startMs: 1_000_000,
      intervalMs: 50,
      runId: "r",
      advertisers: 20,
    });
    const timestamps = [...generateStream(generator)].map((record) => record.timestampMs);
    expect(timestamps[0]).toBe(1_000_000);
    expect(timestamps[99]).toBe(1_000_000 + 99 * 50);
  });

  test("--max uses the nominal 100,000 events/s, --start overrides the clock, no --count is endless", () => {
    const options = parseSimulatorOptions({ max: true, start: "2026-11-25T00:00:00Z" }, 0);
    const generator = generatorOptionsFor(options, 123);
    expect(generator.intervalMs).toBe(0.01);
    expect(generator.startMs).toBe(Date.UTC(2026, 10, 25));
    expect(generator.events).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("replayManifest", () => {
  test("regenerates exactly the first `sent` records", () => {
    const options = parseSimulatorOptions({ rate: "1000", seed: "9", runId: "replay" }, 0);
    const generator = generatorOptionsFor(options, 1_700_000_000_000);
    const manifest: SimulationManifest = {
      version: 1,
      topic: "t",
      transport: "kafka",
      generator,
      sent: 250,
      startedAt: "",
      finishedAt: "",
    };
    const replayed = [...replayManifest(manifest)];
    const direct = [...generateStream({ ...generator, events: 250 })];
    expect(replayed).toHaveLength(250);
    expect(replayed.map((r) => [r.key, Buffer.from(r.value).toString("latin1"), r.timestampMs])).toEqual(
      direct.map((r) => [r.key, Buffer.from(r.value).toString("latin1"), r.timestampMs]),
    );
    expect([...replayManifest({ ...manifest, sent: 0 })]).toEqual([]);
  });
});
