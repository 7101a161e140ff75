import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type ProcSample, readProc } from "./proc.js";
import type { LatencyReply, LatencyRequest } from "./service-child.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./service-child.ts", import.meta.url));

export type ServiceKind = "ingestor" | "tracker" | "api";

/**
 * dist: `node services/<name>/dist/main.js`, the production process (needs `tsc -b`; the bench builds first);
 * source: the same main.ts through tsx (no build, but tsx's loader adds memory and start-up CPU).
 */
export type RunMode = "dist" | "source";

const FOLDER: Record<ServiceKind, string> = { ingestor: "ingestor", tracker: "budget-tracker", api: "api" };

export interface StartServiceOptions {
  readonly mode: RunMode;
  /** Environment of the service (only PATH is inherited). OPS_PORT/API_PORT are chosen here. */
  readonly env: Record<string, string>;
  /** Write V8 CPU profiles (`--cpu-prof`) into this folder when the process exits. */
  readonly cpuProfileDir?: string;
  /**
   * Run through bench/lib/service-child.ts, which keeps every record's latency (commit/apply − record
   * timestamp) for latency(); costs memory, so only the freshness run uses it. Not for the API.
   */
  readonly recordLatency?: boolean;
  /** Print the child's stdout (pino JSON lines) instead of discarding it. */
  readonly verbose?: boolean;
  readonly readyTimeoutMs?: number;
}

export interface ServiceHandle {
  readonly kind: ServiceKind;
  readonly pid: number;
  /** The ops port (/healthz, /readyz, /metrics), or the API's port. */
  readonly port: number;
  /** Wall clock when /readyz first answered 200 (the consumer runs, or the API accepts requests). */
  readonly readyAtMs: number;
  proc(): Promise<ProcSample | null>;
  /** p50/p95/p99/max of the recorded latencies per window of record timestamps (recordLatency only). */
  latency(request: Omit<LatencyRequest, "type" | "id">): Promise<LatencyReply>;
  /** SIGTERM (graceful: the batch in flight finishes, the group is left) and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing finishes, the group member stays until its session times out) and wait. */
  kill(): Promise<void>;
  /** SIGSTOP (frozen, like a long GC pause or a descheduled VM) or SIGCONT. */
  freeze(frozen: boolean): void;
  /** The main thread's CPU profile, written at exit (after stop()), when one was asked for. */
  profilePath(): Promise<string | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

function commandOf(kind: ServiceKind, options: StartServiceOptions): string[] {
  const args: string[] = [];
  if (options.cpuProfileDir !== undefined) args.push("--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`);
  if (options.mode === "source") args.push("--conditions=source");
  if (options.recordLatency === true) {
    if (kind === "api") throw new Error("latency recording is for the Kafka consumers only");
    return [...args, "--import", "tsx", CHILD, kind];
  }
  if (options.mode === "source") return [...args, "--import", "tsx", `services/${FOLDER[kind]}/src/main.ts`];
  return [...args, `services/${FOLDER[kind]}/dist/main.js`];
}

/** Starts a service as a child process and resolves once its /readyz answers 200. */
export async function startService(kind: ServiceKind, options: StartServiceOptions): Promise<ServiceHandle> {
  if (options.cpuProfileDir !== undefined) await mkdir(options.cpuProfileDir, { recursive: true });
  const port = await freePort();
  const portEnv =
    kind === "api"
      ? { API_PORT: String(port), API_HOST: "127.0.0.1" }
      : { OPS_PORT: String(port), OPS_HOST: "127.0.0.1" };
  const child: ChildProcess = spawn(process.execPath, commandOf(kind, options), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      ...options.env,
      ...portEnv,
      BENCH_RECORD_LATENCY: options.recordLatency === true ? "1" : "0",
    },
    stdio: ["ignore", options.verbose === true ? "inherit" : "ignore", "inherit", "ipc"],
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  const readyPath = kind === "api" ? "/readyz/serving" : "/readyz";
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${kind} exited with code ${exitCode} before it was ready`);
    const response = await fetch(`http://127.0.0.1:${port}${readyPath}`).catch(() => null);
    if (response?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${kind} was not ready within ${options.readyTimeoutMs ?? 90_000} ms`);
    }
    await sleep(25);
  }
  const readyAtMs = Date.now();
  const pid = child.pid ?? 0;
  let requests = 0;
  let stopped: Promise<number | null> | undefined;
  return {
    kind,
    pid,
    port,
    readyAtMs,
    proc: () => readProc(pid),
    latency(latencyRequest) {
      const id = ++requests;
      return new Promise<LatencyReply>((resolve, reject) => {
        const onMessage = (message: LatencyReply) => {
          if (message?.type !== "latency" || message.id !== id) return;
          child.off("message", onMessage);
          resolve(message);
        };
        child.on("message", onMessage);
        const request: LatencyRequest = { type: "latency", id, ...latencyRequest };
        child.send(request, (error) => {
          if (error !== null) reject(error);
        });
      });
    },
    stop() {
      stopped ??= (async () => {
        if (exitCode === undefined) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopped;
    },
    async kill() {
      if (exitCode === undefined) child.kill("SIGKILL");
      await exited;
    },
    freeze(frozen) {
      if (exitCode === undefined) child.kill(frozen ? "SIGSTOP" : "SIGCONT");
    },
    async profilePath() {
      if (options.cpuProfileDir === undefined) return null;
      const dir = options.cpuProfileDir;
      // Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is thread 0.
      const files = await readdir(dir).catch(() => [] as string[]);
      const main = files.find((f) => f.includes(`.${pid}.0.`) && f.endsWith(".cpuprofile"));
      return main === undefined ? null : join(dir, main);
    },
  };
}
