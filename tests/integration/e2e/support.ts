/**
 * Running the supervisor (what `npm start` runs) from a test: spawned from source, headless, its output
 * collected line by line.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO_ROOT } from "../../support/index.js";

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free consecutive ports after it. */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux' ephemeral range (32768-60999): an outbound connection of a parallel test never takes a port
    // between this check and the service binding it (an alerter once failed with EADDRINUSE that way).
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free ports");
}

export interface SupervisorRun {
  readonly child: ChildProcess;
  /** Every line printed so far (stdout and stderr). */
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** Polls `probe` until it returns a value; fails early (with the last lines) if the supervisor exits. */
  waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T>;
  /** SIGTERM, then the exit code (or "timeout"). */
  stop(timeoutMs?: number): Promise<number | null | "timeout">;
}

export function startSupervisor(args: string[], env: NodeJS.ProcessEnv): SupervisorRun {
  const child = spawn(
    process.execPath,
    [
      "--conditions",
      "source",
      "--import",
      "tsx",
      join(REPO_ROOT, "services/supervisor/src/main.ts"),
      "--headless",
      "--mode",
      "source",
      ...args,
    ],
    { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => output.push(...chunk.split("\n").filter((line) => line !== "")));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const tail = () => output.slice(-40).join("\n");
  return {
    child,
    output,
    exited,
    async waitFor(what, timeoutMs, probe) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        if (child.exitCode !== null)
          throw new Error(`the supervisor exited (${child.exitCode}) while waiting for ${what}:\n${tail()}`);
        try {
          const value = await probe();
          if (value !== undefined) return value;
        } catch (error) {
          last = error;
        }
        await sleep(500);
      }
      throw new Error(
        `timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ""}:\n${tail()}`,
      );
    },
    async stop(timeoutMs = 90_000) {
      if (child.exitCode === null) child.kill("SIGTERM");
      return Promise.race([exited, sleep(timeoutMs).then(() => "timeout" as const)]);
    },
  };
}

/** Processes whose environment carries `KAFKA_TOPIC=<topic>` (the supervisor's children do). */
export function processesWithTopic(topic: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.split("\0").includes(`KAFKA_TOPIC=${topic}`)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** Runs `adpipe <args>` from source; resolves with its exit code and output. */
export function adpipe(args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    ["--conditions", "source", "--import", "tsx", join(REPO_ROOT, "packages/cli/src/main.ts"), ...args],
    { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 120_000 },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
