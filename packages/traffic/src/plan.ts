import { type GeneratedRecord, type GeneratorOptions, generateStream } from "@adpipe/core";
import { MAX_MODE_NOMINAL_RATE, type SimulatorOptions } from "./options.js";

/**
 * The core generator's options for a run that starts at `startMs` (wall clock). Record timestamps advance
 * at the target rate from the start (or --start), so at a steady rate they track the wall clock and the
 * pipeline judges lateness and skew against realistic times. Without --count the stream is endless and the
 * run stops on --duration or a signal.
 */
export function generatorOptionsFor(options: SimulatorOptions, startMs: number): GeneratorOptions {
  const rate = options.rate ?? MAX_MODE_NOMINAL_RATE;
  return {
    seed: options.seed,
    events: options.count ?? Number.MAX_SAFE_INTEGER,
    advertisers: options.advertisers,
    zipfExponent: options.zipf,
    startMs: options.startMs ?? startMs,
    intervalMs: 1_000 / rate,
    amountMicros: { ...options.amountMicros },
    budgetMicros: { ...options.budgetMicros },
    shares: { ...options.shares },
    initialBudgets: options.initialBudgets,
    budgetChannel: options.budgetChannel,
    runId: options.runId,
  };
}

/** What a run wrote down so that its stream can be regenerated exactly (the oracle's input). */
export interface SimulationManifest {
  readonly version: 1;
  readonly topic: string;
  readonly transport: SimulatorOptions["transport"];
  readonly generator: GeneratorOptions;
  /** Records acknowledged by the broker: the first `sent` records of generateStream(generator). */
  readonly sent: number;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** The records a manifest describes, in production order. */
export function* replayManifest(manifest: SimulationManifest): Generator<GeneratedRecord, void, undefined> {
  let index = 0;
  if (manifest.sent === 0) return;
  for (const record of generateStream(manifest.generator)) {
    yield record;
    index++;
    if (index >= manifest.sent) return;
  }
}
