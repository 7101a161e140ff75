import { setTimeout as sleep } from "node:timers/promises";
import type { GeneratedRecord, GeneratorOptions } from "@adpipe/core";
import { SimulatorError } from "./errors.js";
import type { SimulatorOptions } from "./options.js";
import { Pacer } from "./pacer.js";
import { generatorOptionsFor } from "./plan.js";
import { chunkByBytes, type RecordSink } from "./sinks/sink.js";
import { InlineSource, type RecordSource, WorkerSource } from "./source.js";
import { countSent, emptyStats, type SimulationStats } from "./stats.js";

export type StopReason = "count" | "duration" | "signal";

export interface SimulationResult {
  readonly stats: SimulationStats;
  readonly generator: GeneratorOptions;
  readonly topic: string;
  readonly sink: string;
  readonly stoppedBy: StopReason;
}

export interface RunSimulationParams {
  options: SimulatorOptions;
  sink: RecordSink;
  /** Aborting stops producing; the sends in flight still complete and are counted. */
  signal?: AbortSignal;
  /** Called after every acknowledged send (and on idle ticks). */
  onProgress?: (stats: SimulationStats) => void;
  /** Wall clock (tests pass a fake one). */
  now?: () => number;
  /** Where records come from; default: the core generator inline, or in a worker thread with generatorThread. */
  source?: (generator: GeneratorOptions) => RecordSource;
}

/** Records pulled from the generator per step when running as fast as possible. */
const MAX_MODE_STEP = 8_192;

function defaultSource(options: SimulatorOptions): (generator: GeneratorOptions) => RecordSource {
  return (generator) => (options.generatorThread ? new WorkerSource(generator) : new InlineSource(generator));
}

/**
 * Produces the simulated stream to a connected sink: paced at --rate (or as fast as possible with --max),
 * until --count records, --duration or the signal. Records go out in generator order, in sends of at most
 * --batch-bytes, with up to --concurrency sends in flight. Only acknowledged records are counted.
 */
export async function runSimulation(params: RunSimulationParams): Promise<SimulationResult> {
  const { options, sink, signal } = params;
  const now = params.now ?? Date.now;
  const startedAtMs = now();
  const generator = generatorOptionsFor(options, startedAtMs);
  const source = (params.source ?? defaultSource(options))(generator);
  const stats = emptyStats(startedAtMs);
  const deadline =
    options.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAtMs + options.durationMs;
  const pacer = options.rate === undefined ? undefined : new Pacer(options.rate, startedAtMs);
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let stoppedBy: StopReason = "count";

  const progress = () => {
    stats.elapsedMs = now() - startedAtMs;
    params.onProgress?.(stats);
  };

  const dispatch = async (records: GeneratedRecord[]) => {
    for (const chunk of chunkByBytes(records, options.batchBytes)) {
      while (inflight.size >= options.concurrency) await Promise.race(inflight);
      if (failure !== undefined) return;
      const send: Promise<void> = sink
        .send(chunk)
        .then(() => {
          countSent(stats, chunk);
          progress();
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inflight.delete(send));
      inflight.add(send);
    }
  };

  try {
    while (failure === undefined) {
      if (signal?.aborted) {
        stoppedBy = "signal";
        break;
      }
      if (now() >= deadline) {
        stoppedBy = "duration";
        break;
      }
      let want = MAX_MODE_STEP;
      if (pacer !== undefined) {
        want = pacer.take(now(), MAX_MODE_STEP);
        if (want === 0) {
          progress();
          const wait = Math.min(pacer.tickMs(now()), Math.max(1, deadline - now()));
          await sleep(wait, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
          continue;
        }
      }
      const records = await source.next(want);
      if (records.length === 0) {
        stoppedBy = "count";
        break;
      }
      await dispatch(records);
    }
    await Promise.all(inflight);
  } finally {
    await source.close();
  }
  stats.elapsedMs = now() - startedAtMs;
  if (failure !== undefined) {
    if (failure instanceof SimulatorError) throw failure;
    throw new SimulatorError("send_failed", failure instanceof Error ? failure.message : String(failure), {
      cause: failure,
    });
  }
  return { stats, generator, topic: sink.topic, sink: sink.description, stoppedBy };
}
