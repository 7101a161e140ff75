import { setTimeout as sleep } from "node:timers/promises";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { describe, expect, test } from "vitest";
import { SimulatorError } from "../src/errors.js";
import { parseSimulatorOptions, type RawSimulatorOptions } from "../src/options.js";
import { runSimulation } from "../src/simulate.js";
import type { RecordSink } from "../src/sinks/sink.js";

/** An in-memory sink: keeps what it was sent and how many sends overlapped. */
class CollectingSink implements RecordSink {
  readonly description = "memory";
  readonly topic = "memory-topic";
  readonly sends: GeneratedRecord[][] = [];
  active = 0;
  maxActive = 0;

  constructor(
    private readonly delayMs = 0,
    private readonly failOnSend = -1,
  ) {}

  async connect(): Promise<void> {}

  async send(records: readonly GeneratedRecord[]): Promise<void> {
    const index = this.sends.length;
    this.sends.push([...records]);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      if (index === this.failOnSend) throw new Error("broker said no");
    } finally {
      this.active--;
    }
  }

  async close(): Promise<void> {}

  get records(): GeneratedRecord[] {
    return this.sends.flat();
  }
}

const options = (raw: RawSimulatorOptions) =>
  parseSimulatorOptions({ seed: "11", runId: "unit", generatorThread: false, ...raw }, 0);
const bytes = (records: GeneratedRecord[]) =>
  records.map((r) => `${r.key}|${Buffer.from(r.value).toString("hex")}|${r.timestampMs}`);

describe("runSimulation", () => {
  test("--max --count sends exactly the generator's stream, in order, in size-bounded sends", async () => {
    const sink = new CollectingSink(1);
    const opts = options({ max: true, count: "20000", batchBytes: "50000", concurrency: "3" });
    const result = await runSimulation({ options: opts, sink });
    expect(result.stoppedBy).toBe("count");
    expect(result.stats.sent).toBe(20_000);
    expect(bytes(sink.records)).toEqual(bytes([...generateStream(result.generator)]));
    expect(sink.sends.length).toBeGreaterThan(20_000 / 1_000);
    expect(sink.maxActive).toBeLessThanOrEqual(3);
    expect(sink.maxActive).toBeGreaterThan(1);
    const kinds = Object.values(result.stats.byKind).reduce((sum, n) => sum + n, 0);
    expect(kinds).toBe(20_000);
    expect(result.stats.byKind.duplicate).toBeGreaterThan(0);
    // Like the seed's web app (the default budget channel): budgets ride on clicks, never as budget_update.
    expect(result.stats.byKind.budget_update).toBe(0);
  });

  test("--budget-channel events sends budget_update events (one per advertiser first)", async () => {
    const sink = new CollectingSink(1);
    const opts = options({ max: true, count: "5000", budgetChannel: "events" });
    const result = await runSimulation({ options: opts, sink });
    expect(bytes(sink.records)).toEqual(bytes([...generateStream(result.generator)]));
    expect(result.generator.budgetChannel).toBe("events");
    expect(result.stats.byKind.budget_update).toBeGreaterThanOrEqual(20);
  });

  test("a paced run never gets ahead of rate x elapsed, and record times follow the start", async () => {
    const sink = new CollectingSink();
    const progress: number[] = [];
    const opts = options({ rate: "400", count: "60" });
    const started = Date.now();
    const result = await runSimulation({
      options: opts,
      sink,
      onProgress: (stats) => progress.push(stats.sent),
    });
    const elapsed = Date.now() - started;
    expect(result.stats.sent).toBe(60);
    // 60 events at 400/s take at least 150 ms.
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(sink.sends.length).toBeGreaterThan(3);
    expect(progress.at(-1)).toBe(60);
    expect(sink.records[0]?.timestampMs).toBe(result.stats.startedAtMs);
    expect(sink.records[59]?.timestampMs).toBe(result.stats.startedAtMs + Math.floor(59 * 2.5));
  });

  test("--duration stops on time", async () => {
    const sink = new CollectingSink();
    const result = await runSimulation({ options: options({ rate: "100", duration: "300ms" }), sink });
    expect(result.stoppedBy).toBe("duration");
    expect(result.stats.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(result.stats.sent).toBeGreaterThan(0);
    expect(result.stats.sent).toBeLessThanOrEqual(Math.floor((100 * result.stats.elapsedMs) / 1_000) + 1);
  });

  test("an abort stops producing; sends in flight complete and are counted", async () => {
    const sink = new CollectingSink(20);
    const controller = new AbortController();
    const result = await runSimulation({
      options: options({ max: true, batchBytes: "20000", concurrency: "2" }),
      sink,
      signal: controller.signal,
      onProgress: (stats) => {
        if (stats.sent > 1_000) controller.abort();
      },
    });
    expect(result.stoppedBy).toBe("signal");
    expect(result.stats.sent).toBe(sink.records.length);
    expect(bytes(sink.records)).toEqual(
      bytes([...generateStream({ ...result.generator, events: sink.records.length })]),
    );
  });

  test("a failed send stops the run with send_failed", async () => {
    const sink = new CollectingSink(0, 2);
    await expect(
      runSimulation({ options: options({ max: true, count: "5000", batchBytes: "10000" }), sink }),
    ).rejects.toSatisfy(
      (error: unknown) =>
        error instanceof SimulatorError &&
        error.code === "ADP_TRAFFIC_SEND_FAILED" &&
        /broker said no/.test(error.message),
    );
  });
});
