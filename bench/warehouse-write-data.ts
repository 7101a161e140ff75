/**
 * Node CPU of building one batch's write data, µs per record: Bronze and Silver binary COPY rows and
 * write_batch's parameters for 5,000 generated records (core's generator, seed 42), after warm-up. Leaves
 * kafkajs, parsing and Postgres out, so two builds can be compared on a loaded machine: point it at the root
 * of each checkout (built: it imports their packages/*\/dist) and alternate.
 *
 *   node --import tsx bench/warehouse-write-data.ts [root=.] [rounds=100]
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(process.argv[2] ?? ".");
const rounds = Number(process.argv[3] ?? 100);
const dist = (pkg: string, file: string) =>
  import(pathToFileURL(`${root}/packages/${pkg}/dist/${file}`).href) as Promise<
    Record<string, (...args: never[]) => unknown>
  >;

const core = await dist("core", "index.js");
const derive = await dist("warehouse", "derive.js");
const { bronzeCopyRows } = await dist("warehouse", "bronze-copy.js");
const { silverCopyRows } = await dist("warehouse", "silver-copy.js");
const { writeBatchParams } = await dist("warehouse", "write-params.js");
type Generated = { key: string | null; value: string | null; timestampMs: number };
const generated = [
  ...(core.generateStream as (o: object) => Iterable<Generated>)({
    seed: 42,
    events: 5_000,
    advertisers: 500,
    startMs: Date.now() - 3_600_000,
  }),
];
const records = generated.map((r, i) => ({
  topic: "bench-topic-events",
  partition: 3,
  offset: String(1_000 + i),
  timestampMs: r.timestampMs,
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value === null ? null : Buffer.from(r.value),
}));
const call = (fn: unknown, ...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(...args);
const derived = call(
  derive.deriveRecords,
  call(derive.parseRecords, records, {}, 0),
  () => null,
) as unknown[];
const gold = call(derive.aggregateGold, derived);
const once = () => {
  call(bronzeCopyRows, derived, 1 << 20);
  call(silverCopyRows, derived);
  call(writeBatchParams, {
    records: derived,
    gold,
    pipeline: "bench",
    nextOffsets: [{ topic: "bench-topic-events", partition: 3, offset: 6_000n }],
    writeBronze: false,
    writeSilver: false,
    maxStoredPayloadBytes: 1 << 20,
  });
};
for (let i = 0; i < 20; i++) once();
const before = process.cpuUsage();
for (let i = 0; i < rounds; i++) once();
const used = process.cpuUsage(before);
console.log(`${((used.user + used.system) / (rounds * derived.length)).toFixed(3)} CPU-µs per record`);
