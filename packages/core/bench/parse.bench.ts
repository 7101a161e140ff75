/**
 * Micro-benchmark of the per-record hot path both pipelines run: parseEvent (decode, JSON, validation)
 * + timeBuckets, over a generated stream (fixed seed, the generator's default mix of clicks, duplicates,
 * malformed, late, future and invalid records). Prints events/s per core: wall-clock rate of one thread and
 * the rate per CPU-second of this process (the honest figure on a shared machine).
 *
 *   npm run bench:core                     # 1,000,000 events, 5 runs
 *   BENCH_EVENTS=200000 BENCH_RUNS=3 npm run bench:core
 */
import { z } from "zod";
import { generateStream, ParseContext, parseEvent, timeBuckets } from "../src/index.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET = 400_000;

interface Sample {
  wall: number;
  cpu: number;
}

function timeRun(values: readonly Uint8Array[], timestamps: Float64Array): Sample & { checksum: number } {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let checksum = 0;
  // One context per run, as the tracker and the ingestor keep one per batch.
  const context = new ParseContext();
  for (let i = 0; i < values.length; i++) {
    const result = parseEvent(values[i], { referenceTimeMs: timestamps[i] as number }, context);
    if (result.ok) {
      if (result.eventTimeMs !== null) checksum += timeBuckets(result.eventTimeMs).ingestHour;
      if (result.isValid) checksum++;
    }
  }
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { wall: values.length / wallSeconds, cpu: values.length / cpuSeconds, checksum };
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

const genStart = performance.now();
const generated: Uint8Array[] = [];
const timestamps = new Float64Array(EVENTS);
const kinds = new Map<string, number>();
let bytes = 0;
for (const record of generateStream({ seed: 42, events: EVENTS, advertisers: 200, spanMs: 26 * 3_600_000 })) {
  timestamps[generated.length] = record.timestampMs;
  generated.push(record.value);
  bytes += record.value.byteLength;
  kinds.set(record.kind, (kinds.get(record.kind) ?? 0) + 1);
}
// Like a Kafka fetch response: record values are views into one large buffer, not separate allocations.
const arena = new Uint8Array(bytes);
const values: Uint8Array[] = [];
let at = 0;
for (const value of generated) {
  arena.set(value, at);
  values.push(arena.subarray(at, at + value.byteLength));
  at += value.byteLength;
}
generated.length = 0;
console.log(
  `generated ${fmt(EVENTS)} records (${fmt(bytes / EVENTS)} bytes avg) in ${((performance.now() - genStart) / 1000).toFixed(1)} s:`,
  Object.fromEntries(kinds),
);

// Warm-up so the JIT has compiled the hot path before timing.
timeRun(values.slice(0, Math.min(100_000, EVENTS)), timestamps);

const samples: Sample[] = [];
let checksum = 0;
for (let run = 1; run <= RUNS; run++) {
  const sample = timeRun(values, timestamps);
  checksum = sample.checksum;
  samples.push(sample);
  console.log(`run ${run}: ${fmt(sample.wall)} events/s wall, ${fmt(sample.cpu)} events/s per CPU-second`);
}
const wall = stats(samples.map((s) => s.wall));
const cpu = stats(samples.map((s) => s.cpu));
console.log(`checksum ${checksum}`);
console.log(
  `parse+validate+bucket, 1 thread: median ${fmt(wall.median)} events/s (min ${fmt(wall.min)}, max ${fmt(wall.max)}) wall clock`,
);
console.log(
  `per CPU-second: median ${fmt(cpu.median)} events/s (min ${fmt(cpu.min)}, max ${fmt(cpu.max)}); target ${fmt(TARGET)}: ${cpu.median >= TARGET ? "met" : "NOT met"}`,
);

// Machine calibration on the same payloads: the floor any JSON-based parser pays (decode + JSON.parse only).
const decoderForBaseline = new TextDecoder("utf-8", { fatal: true });
const baselineStart = process.cpuUsage();
let baselineOk = 0;
for (let i = 0; i < values.length; i++) {
  try {
    if (JSON.parse(decoderForBaseline.decode(values[i])) !== null) baselineOk++;
  } catch {
    // malformed records
  }
}
const baselineCpu = process.cpuUsage(baselineStart);
const baselineRate = values.length / ((baselineCpu.user + baselineCpu.system) / 1e6);
console.log(
  `baseline: decode + JSON.parse only: ${fmt(baselineRate)} events/s per CPU-second (${baselineOk} objects); parse+validate+bucket runs at ${((cpu.median / baselineRate) * 100).toFixed(0)}% of it`,
);

// For the record: a zod schema doing only the shape checks (no money, time, dedup rules) on the same input.
const zodSchema = z.object({
  event_type: z.enum(["ad_click", "budget_update"]),
  click_id: z.string().min(1).max(128).optional(),
  advertiser: z.string().max(256).optional(),
  advertiser_id: z.union([z.string().max(128), z.number().int()]).optional(),
  ad_id: z.string().max(128).optional(),
  amount: z.union([z.number(), z.string()]).optional(),
  budget_value: z.union([z.number(), z.string()]).nullish(),
  timestamp: z.union([z.string(), z.number()]),
});
const decoder = new TextDecoder("utf-8", { fatal: true });
const zodCount = Math.min(200_000, EVENTS);
const zodStart = process.cpuUsage();
let zodOk = 0;
for (let i = 0; i < zodCount; i++) {
  try {
    if (zodSchema.safeParse(JSON.parse(decoder.decode(values[i]))).success) zodOk++;
  } catch {
    // malformed records: counted as failures
  }
}
const zodCpu = process.cpuUsage(zodStart);
console.log(
  `comparison: decode + JSON.parse + zod shape check only: ${fmt(zodCount / ((zodCpu.user + zodCpu.system) / 1e6))} events/s per CPU-second (${zodOk} passed)`,
);
