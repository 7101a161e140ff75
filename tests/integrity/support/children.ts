import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../support/index.js";

/** The services the suite runs as child processes, each from its real entry point (src/main.ts). */
export const SERVICES = {
  ingestor: "services/ingestor",
  "budget-tracker": "services/budget-tracker",
  api: "services/api",
} as const;
export type ServiceName = keyof typeof SERVICES;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Where every child's stdout and stderr go for this run (scanned for secrets at the end). */
export const RUN_ID = new Date().toISOString().replace(/[:.]/g, "-");
export const LOG_DIR = join(REPO_ROOT, ".cache", "test-results", "integrity", "logs", RUN_ID);

/**
 * INTEGRITY_RUNTIME=source (default): `node --conditions=source --import tsx services/<x>/src/main.ts`, always
 * the current sources. INTEGRITY_RUNTIME=dist: `node services/<x>/dist/main.js` (needs `npm run build`; starts
 * faster on a slow machine).
 */
function entryArgs(service: ServiceName): string[] {
  const runtime = process.env.INTEGRITY_RUNTIME ?? "source";
  if (runtime === "dist") return [`${SERVICES[service]}/dist/main.js`];
  if (runtime !== "source") throw new Error(`INTEGRITY_RUNTIME must be source or dist, not "${runtime}"`);
  return ["--conditions=source", "--import", "tsx", `${SERVICES[service]}/src/main.ts`];
}

export class ServiceChild {
  readonly exited: Promise<ExitInfo>;
  /** Set before the suite signals the process: an exit without it is a crash of the service itself. */
  intentional = false;
  exit: ExitInfo | null = null;
  /** When the process printed its first line (its logger was up): a measure of start-up time. */
  firstOutputAtMs: number | null = null;
  private readonly log: WriteStream;
  private recent = "";

  constructor(
    readonly service: ServiceName,
    readonly label: string,
    readonly child: ChildProcess,
    readonly logFile: string,
    readonly startedAtMs: number,
    readonly env: Readonly<Record<string, string>>,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
    const keep = (chunk: Buffer) => {
      this.firstOutputAtMs ??= Date.now();
      this.log.write(chunk);
      this.recent = (this.recent + chunk.toString("utf8")).slice(-8_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    // Close the log only after both pipes drained (exit can come first).
    child.once("close", () => this.log.end());
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** Sends `signal` and waits for the exit (SIGKILL is what a crash, an OOM kill or a lost node looks like). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<ExitInfo> {
    if (this.exit !== null) return this.exit;
    this.intentional = true;
    this.child.kill(signal);
    return this.exited;
  }

  /** SIGSTOP / SIGCONT: the process freezes (a long GC pause, a stalled VM) and later goes on. */
  freeze(frozen: boolean): void {
    if (this.running) this.child.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  /** Resident set size in KiB from /proc/<pid>/status (null once the process is gone). */
  rssKiB(): number | null {
    if (!this.running) return null;
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
      const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
      return match ? Number(match[1]) : null;
    } catch {
      return null;
    }
  }

  /** GET on its ops server (OPS_PORT): /metrics, /readyz, /healthz. */
  async ops(path: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`http://127.0.0.1:${this.env.OPS_PORT}${path}`, {
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, text: await response.text() };
  }

  /** Sum of a Prometheus series over its labels (0 when absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const { text } = await this.ops("/metrics");
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return sum;
  }

  /** The last lines of its output, for failure messages. */
  tail(): string {
    return this.recent;
  }
}

/** Starts and tracks the children of one scenario; stop() kills whatever still runs. */
export class ChildGroup {
  readonly children: ServiceChild[] = [];
  private counter = 0;

  constructor(readonly scenario: string) {
    mkdirSync(LOG_DIR, { recursive: true });
  }

  spawn(service: ServiceName, env: Record<string, string>): ServiceChild {
    this.counter += 1;
    const label = `${service}#${this.counter}`;
    const logFile = join(LOG_DIR, `${this.scenario}-${service}-${this.counter}.log`);
    const child = spawn(process.execPath, entryArgs(service), {
      cwd: REPO_ROOT,
      // Only what the service is given: nothing of the test process' environment leaks in.
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const handle = new ServiceChild(service, label, child, logFile, Date.now(), env);
    this.children.push(handle);
    return handle;
  }

  running(service?: ServiceName): ServiceChild[] {
    return this.children.filter((c) => c.running && (service === undefined || c.service === service));
  }

  /** Children that exited without the suite asking them to (a consumer crash). */
  crashed(): ServiceChild[] {
    return this.children.filter((c) => c.exit !== null && !c.intentional);
  }

  async stopAll(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await Promise.all(this.running().map((c) => c.kill(signal)));
  }
}
