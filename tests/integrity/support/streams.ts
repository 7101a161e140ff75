import { type GeneratedRecord, type GeneratorOptions, generateStream } from "@adpipe/core";

/**
 * A generated stream whose record timestamps follow the production schedule from now on (`ratePerSecond`),
 * so the record time is close to the produce time, as with a live producer, and the budget period the
 * tracker works in (the wall clock's) is the one the stream's spend falls into.
 */
export function liveStream(
  options: Omit<GeneratorOptions, "startMs" | "intervalMs" | "spanMs"> & { ratePerSecond: number },
): GeneratedRecord[] {
  const { ratePerSecond, ...rest } = options;
  return [...generateStream({ ...rest, startMs: Date.now(), intervalMs: 1_000 / ratePerSecond })];
}
