/**
 * A service under test in its own process, started exactly as its main.ts does (runService + start*Service),
 * plus what the bench needs from inside: with BENCH_RECORD_LATENCY=1, the latency
 * of every record (commit/apply wall clock − Kafka record timestamp) kept in two Float64 columns and
 * summarised on request. Without that variable the process is the plain service (nothing recorded).
 *
 *   node [--conditions=source] --import tsx bench/lib/service-child.ts ingestor|tracker   (IPC channel expected)
 */
import { loadTrackerConfig, startTrackerService } from "@adpipe/budget-tracker";
import { loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { runService } from "@adpipe/telemetry";
import { type LatencySummary, latencySummary, SampleBuffer } from "./stats.js";

export type ChildKind = "ingestor" | "tracker";

export interface LatencyRequest {
  readonly type: "latency";
  readonly id: number;
  /** [fromMs, toMs) ranges of record timestamps to summarise separately. */
  readonly windows: readonly (readonly [number, number])[];
  /**
   * Records produced per window. Those never committed/applied (the path fell behind) count with the lower
   * bound of their latency, `censorAtMs − window end`, so quantiles are never flattered by missing records.
   */
  readonly expected?: readonly number[];
  readonly censorAtMs?: number;
}

export interface LatencyReply {
  readonly type: "latency";
  readonly id: number;
  readonly windows: readonly LatencySummary[];
  readonly overall: LatencySummary;
  /** Per window: records expected but not (yet) committed/applied, counted at their latency lower bound. */
  readonly missing: readonly number[];
}

const kind = process.argv[2] as ChildKind;
const recording = process.env.BENCH_RECORD_LATENCY === "1";
const samples = new SampleBuffer();

function record(timestampsMs: readonly number[], doneAtMs: number): void {
  if (!recording) return;
  for (const ts of timestampsMs) samples.push(ts, doneAtMs - ts);
}

function send(message: LatencyReply): void {
  process.send?.(message);
}

function withMissing(values: Float64Array, missing: number, lowerBoundMs: number): Float64Array {
  if (missing <= 0) return values;
  const all = new Float64Array(values.length + missing);
  all.set(values);
  all.fill(lowerBoundMs, values.length);
  return all;
}

process.on("message", (message: LatencyRequest) => {
  if (message?.type !== "latency") return;
  const missing: number[] = [];
  const perWindow = message.windows.map(([from, to], i) => {
    const values = samples.valuesBetween(from, to);
    const lost = Math.max(0, (message.expected?.[i] ?? 0) - values.length);
    missing.push(lost);
    return withMissing(values, lost, (message.censorAtMs ?? to) - to);
  });
  const overall = new Float64Array(perWindow.reduce((sum, w) => sum + w.length, 0));
  let at = 0;
  for (const w of perWindow) {
    overall.set(w, at);
    at += w.length;
  }
  send({
    type: "latency",
    id: message.id,
    windows: perWindow.map(latencySummary),
    overall: latencySummary(overall),
    missing,
  });
});

if (kind === "ingestor") {
  runService({
    name: "ingestor",
    loadConfig: () => loadIngestorConfig(),
    start: async (config) => {
      const service = await startIngestorService(config, {
        onBatchCommitted: ({ recordTimestampsMs, result }) => {
          if (result.written > 0) record(recordTimestampsMs, result.committedAtMs);
        },
      });
      return { logger: service.logger, stop: () => service.stop(), done: () => service.ingestor.done() };
    },
  });
} else if (kind === "tracker") {
  runService({
    name: "budget-tracker",
    loadConfig: () => loadTrackerConfig(),
    start: async (config) => {
      const service = await startTrackerService(config, {
        onBatchApplied: (batch) => record(batch.recordTimestampsMs, batch.appliedAtMs),
      });
      return { logger: service.logger, stop: () => service.stop(), done: () => service.tracker.done() };
    },
  });
} else {
  process.stderr.write(`usage: service-child.ts ingestor|tracker (got ${String(kind)})\n`);
  process.exit(2);
}
