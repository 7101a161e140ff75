/**
 * Postgres CPU per statement of the ingestor's batch transaction: a fresh database (migrated), `events`
 * generated records (core's generator, seed 42) in 12 partitions keyed by advertiser, written by writeBatch in
 * per-partition batches of `batch` records over one connection. Around every statement it reads the backend's
 * on-CPU time (/proc/<pid>/schedstat, nanoseconds) and the wall time, and prints them per event by statement
 * (named queries by name, COPY by target). Needs Postgres on the same machine (DATABASE_URL's server).
 *
 *   node --conditions=source --import tsx bench/warehouse-statement-cost.ts [events=200000] [batch=5000]
 */
import { readFileSync } from "node:fs";
import { generateStream } from "@adpipe/core";
import { createPool, migrate, writeBatch } from "@adpipe/warehouse";
import pg from "pg";

const events = Number(process.argv[2] ?? 200_000);
const batchSize = Number(process.argv[3] ?? 5_000);
const PARTITIONS = 12;
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const database = `adpipe_stmt_${Date.now().toString(36)}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const url = new URL(adminUrl);
url.pathname = `/${database}`;
const pool = createPool({ connectionString: url.toString(), max: 2 });

function hash(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

try {
  await migrate(pool);
  const topic = "stmt-events";
  const byPartition: {
    topic: string;
    partition: number;
    offset: string;
    timestampMs: number;
    key: Buffer | null;
    value: Buffer | null;
  }[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const r of generateStream({
    seed: 42,
    events,
    advertisers: 5_000,
    zipfExponent: 1.1,
    startMs: Date.now() - 3_600_000,
  })) {
    const partition = r.key === null ? 0 : hash(r.key) % PARTITIONS;
    const list = byPartition[partition] as (typeof byPartition)[number];
    list.push({
      topic,
      partition,
      offset: String(list.length),
      timestampMs: r.timestampMs,
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    });
  }
  const client = await pool.connect();
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const stat = `/proc/${rows[0]?.pid}/schedstat`;
  const cpuNs = () => Number(readFileSync(stat, "utf8").split(" ")[0]);
  const totals = new Map<string, { cpu: number; wall: number; calls: number }>();
  const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const record = (label: string, cpu0: number, wall0: number) => {
    const entry = totals.get(label) ?? { cpu: 0, wall: 0, calls: 0 };
    entry.cpu += cpuNs() - cpu0;
    entry.wall += performance.now() - wall0;
    entry.calls++;
    totals.set(label, entry);
  };
  (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
    const first = args[0] as { name?: string; text?: string } | string;
    const text = typeof first === "string" ? first : (first.text ?? "");
    const label =
      typeof first !== "string" && first.name !== undefined
        ? first.name
        : (/^-- name: (\w+)/.exec(text)?.[1] ?? text.split(/\s/)[0] ?? "?");
    const cpu0 = cpuNs();
    const wall0 = performance.now();
    const result = original(...args) as Promise<unknown> | NodeJS.EventEmitter;
    if (result instanceof Promise) return result.finally(() => record(label, cpu0, wall0));
    // COPY FROM STDIN (pg-copy-streams): a stream the caller writes into; done when it finishes.
    result.once("finish", () => record(label, cpu0, wall0));
    return result;
  };
  let written = 0;
  let explained = false;
  const cursors = new Array<number>(PARTITIONS).fill(0);
  for (let more = true; more; ) {
    more = false;
    for (let p = 0; p < PARTITIONS; p++) {
      const list = byPartition[p] as (typeof byPartition)[number];
      const from = cursors[p] as number;
      if (from >= list.length) continue;
      const records = list.slice(from, from + batchSize);
      cursors[p] = from + records.length;
      more = true;
      if (process.env.EXPLAIN !== undefined && written > events * 0.8 && !explained) {
        // The plan of one late batch's statements, sent back as notices (auto_explain at NOTICE level).
        explained = true;
        await client.query("LOAD 'auto_explain'");
        for (const setting of [
          "log_min_duration = 0",
          "log_analyze = on",
          "log_buffers = on",
          "log_level = notice",
        ])
          await client.query(`SET auto_explain.${setting}`);
        client.on("notice", (notice) => {
          if (notice.message?.includes(process.env.EXPLAIN as string)) console.log(notice.message);
        });
      }
      const result = await writeBatch(client, { pipeline: "stmt", records, generation: 0, logEnds: [] });
      written += result.written;
    }
  }
  client.release();
  const cpuTotal = [...totals.values()].reduce((s, e) => s + e.cpu, 0);
  console.log(
    `${written.toLocaleString("en-US")} events written; Postgres backend CPU ${(cpuTotal / 1_000 / written).toFixed(2)} µs/event`,
  );
  for (const [label, e] of [...totals].sort((a, b) => b[1].cpu - a[1].cpu))
    console.log(
      `${label.padEnd(44)} cpu ${(e.cpu / 1_000 / written).toFixed(2).padStart(6)} µs/event  wall ${((e.wall * 1_000) / written).toFixed(2).padStart(6)} µs/event  ${e.calls} calls`,
    );
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
