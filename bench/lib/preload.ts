import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchSettings } from "./settings.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface PreloadResult {
  readonly events: number;
  readonly bytes: number;
  /** The simulator's own timing: first to last acknowledged send (start-up excluded). */
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly byKind: Readonly<Record<string, number>>;
}

export interface PreloadOptions {
  readonly topic: string;
  readonly events: number;
  readonly partitions: number;
  readonly seed: number;
  readonly advertisers: number;
  readonly zipf: number;
  /** click_id prefix (fixed per seed so the stream is reproducible). */
  readonly runId: string;
}

/**
 * Fills a topic with core's generated stream through the simulator's as-fast-as-possible mode (native produce
 * encoder on plain Kafka, generation in a worker thread, several sends in flight, no compression). Record
 * timestamps start at the current clock and advance as if 100,000 events/s were produced.
 */
export function preloadTopic(settings: BenchSettings, options: PreloadOptions): Promise<PreloadResult> {
  const args = [
    "--conditions=source",
    "--import",
    "tsx",
    "services/simulator/src/main.ts",
    "--max",
    "--count",
    String(options.events),
    "--partitions",
    String(options.partitions),
    "--topic",
    options.topic,
    "--seed",
    String(options.seed),
    "--run-id",
    options.runId,
    "--advertisers",
    String(options.advertisers),
    "--zipf",
    String(options.zipf),
    // The stream the published figures were measured with (budget_update events; budget_value on seed-shape
    // clicks and 30 % of the others), not the seed web app's budget on every click (the simulator's default).
    "--budget-channel",
    "events",
    "--acks",
    "leader",
    "--compression",
    "none",
    "--progress",
    "none",
    "--json",
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", KAFKA_BROKERS: settings.kafkaBrokers, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = stdout
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      if (code !== 0 || line === undefined) {
        reject(new Error(`the simulator failed (exit ${code}): ${stderr.slice(-2_000)}`));
        return;
      }
      const summary = JSON.parse(line) as {
        sent: number;
        bytes: number;
        elapsedMs: number;
        eventsPerSecond: number;
        byKind: Record<string, number>;
      };
      resolve({
        events: summary.sent,
        bytes: summary.bytes,
        seconds: summary.elapsedMs / 1000,
        eventsPerSecond: summary.eventsPerSecond,
        byKind: summary.byKind,
      });
    });
  });
}
